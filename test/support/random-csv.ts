import type { CsvCheckOptions } from '../../lib/csv-check/types.js';

/** A seeded PRNG (mulberry32), so a failing case can be replayed from its seed. */
export function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RandomCsv {
  bytes: Buffer;
  options: CsvCheckOptions;
  /** The file cut into chunks at random byte offsets, as a stream would deliver it. */
  chunks: Buffer[];
}

const NAMES = ['year', 'sex', 'population', 'region', 'count', 'rate', 'Name', 'value_1', ''];
const TYPES = ['NUMERIC', 'TEXT', 'NUMERIC', 'DATE', 'numeric'];

/**
 * A CSV file that is mostly fine, with every kind of problem the checker knows mixed in at
 * random: bad numbers, quoting (good and malformed), blank lines, wrong field counts, mixed line
 * endings, control characters, U+FFFD, invalid UTF-8 bytes, a BOM, long records, header problems.
 */
export function randomCsv(seed: number): RandomCsv {
  const random = randomSource(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const chance = (p: number) => random() < p;
  // Mostly narrow; now and then wide enough for long runs of one kind, or too many runs to help.
  const columnCount = chance(0.04) ? pick([70, 150]) : 1 + Math.floor(random() * 5);
  const header = Array.from({ length: columnCount }, (_, i) =>
    chance(0.9) ? `c${i}_${pick(NAMES)}` : pick(NAMES),
  );
  const types = header.map(() => pick(TYPES));
  const newline = chance(0.5) ? '\n' : '\r\n';
  // As R's write.csv and "quote all" exports write them: text (and some numbers) in quotes.
  const quoteAll = chance(0.3);
  const quoted = (value: string): string => (quoteAll && chance(0.9) ? `"${value}"` : value);
  // Most files are clean, so that long runs of plain rows (the fast path) meet the odd problem.
  const problemRate = pick([0, 0, 0.001, 0.01, 0.05, 0.3]);

  const numeric = (): string => {
    const value = pick([
      () => String(Math.floor(random() * 1e7)),
      () => (random() * 1000).toFixed(2),
      () => `-${Math.floor(random() * 99)}`,
      () => `+${random().toFixed(3)}`,
      () => `${Math.floor(random() * 9)}e${Math.floor(random() * 9)}`,
      () => `.${Math.floor(random() * 9)}`,
      () => `${Math.floor(random() * 9)}.`,
      () => ` ${Math.floor(random() * 99)} `,
      () => '',
      () => '   ',
    ])();
    return quoteAll && chance(0.3) ? `"${value}"` : value;
  };
  const text = (): string => {
    const value = pick([
      'female',
      'male',
      'Ang Mo Kio',
      'Tan, Ah Kow',
      'say "hi"',
      'naïve café',
      '中文',
      'a\tb',
      '',
      '😀',
    ]);
    // Commas and quotes are only plain inside quotes.
    return quoteAll ? quoted(value) : value.replace(/[,"]/g, ' ');
  };
  const problem = (): string =>
    pick([
      () => '12O',
      () => '1,000',
      () => '"1,000"',
      () => '"quoted, with comma"',
      () => '"say ""hi"""',
      () => '"two\nlines"',
      () => '"two\r\nlines"',
      () => 'a"b',
      () => '"abc"x',
      () => '\u0000',
      () => 'x\u0001y',
      () => '\u007f',
      () => '\uFFFD',
      () => 'tab\there',
      () => 'cr\rhere',
      () => '\t12\t',
      () => 'NaN',
      () => 'Infinity',
      () => '0x1F',
      () => '1_000',
      () => 'x'.repeat(300),
    ])();

  const lines: string[] = [header.map(quoted).join(',')];
  const rowCount = Math.floor(random() * pick(columnCount > 5 ? [5, 50] : [5, 50, 400, 2000]));
  for (let r = 0; r < rowCount; r++) {
    if (chance(problemRate / 4)) {
      lines.push('');
      continue;
    }
    let count = columnCount;
    if (chance(problemRate / 4)) count += pick([-1, 1, 2]);
    const fields = Array.from({ length: Math.max(1, count) }, (_, c) => {
      if (chance(problemRate)) return problem();
      return types[c]?.toUpperCase() === 'NUMERIC' ? numeric() : text();
    });
    lines.push(fields.join(','));
  }
  let body = '';
  for (const [index, line] of lines.entries()) {
    body += line;
    if (index < lines.length - 1 || chance(0.8))
      body += chance(problemRate / 4) ? pick(['\n', '\r\n']) : newline;
  }
  if (chance(problemRate)) body += '"unterminated,field';
  let bytes = Buffer.from(body, 'utf8');
  if (chance(0.05)) bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
  if (chance(problemRate) && bytes.length > 10) {
    const at = 5 + Math.floor(random() * (bytes.length - 5));
    bytes = Buffer.concat([
      bytes.subarray(0, at),
      Buffer.from([pick([0xff, 0xc3, 0xe2, 0x80])]),
      bytes.subarray(at),
    ]);
  }
  if (chance(0.02)) bytes = Buffer.alloc(0);

  const options: CsvCheckOptions = {
    mode: pick(['replace', 'append'] as const),
    maxProblems: 1 + Math.floor(random() * 25),
    ...(chance(0.2) ? { maxRecordBytes: 40 + Math.floor(random() * 400) } : {}),
  };
  if (chance(0.7)) {
    options.expectedColumns = header.map((name, c) => ({ name, dataType: types[c] ?? 'TEXT' }));
    if (chance(0.1)) options.expectedColumns.pop();
  } else if (chance(0.5)) {
    options.metadataUnavailable = 'HTTP 503';
  }

  const chunks: Buffer[] = [];
  const chunkSize = pick([1, 7, 64, 1000, 16_384, 65_536]);
  for (let at = 0; at < bytes.length; ) {
    const size = Math.max(1, Math.floor(chunkSize * (0.5 + random())));
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return { bytes, options, chunks };
}
