import { parseArgs } from 'node:util';

export const SECTIONS = ['upload', 'csvcheck', 'coldstart', 'polling', 'forwarder', 'cli', 'cost'] as const;
export type Section = (typeof SECTIONS)[number];

export interface BenchOptions {
  sections: Section[];
  /** Upload sizes in MiB (3 for the scaling plot); memory is judged at 64 MiB and the largest. */
  uploadSizesMiB: number[];
  uploadReps: number;
  /** Record counts (3 for the scaling plot); the target is judged at forwardTargetSize. */
  forwardSizes: number[];
  forwardTargetSize: number;
  forwardReps: number;
  /** A stated network latency before the local write API handles each request (0: none). */
  forwardLatencyMs: number;
  coldStartRuns: number;
  /** Size of each file of the CSV check section, and repetitions per shape. */
  csvCheckSizeMiB: number;
  csvCheckReps: number;
  /** Ingestion times of the polling scenarios, in seconds. */
  ingestionSeconds: number[];
  /** Where s3rver, the sink and the write API keep their data (tmpfs when there is one). */
  storeDir: string;
  /** Where results.json and scaling.svg are written. */
  outDir: string;
  /** Files dropped, and datasets they are spread over, for the cost per publication. */
  costFiles: number;
  costDatasets: number;
  stage: string;
}

export const USAGE = `npm run bench -- [options]

  --large                 upload 64, 256 and 1024 MiB (default 16, 64, 256)
  --upload-sizes=A,B,C    upload sizes in MiB           (env BENCH_UPLOAD_SIZES_MIB)
  --upload-reps=N         repetitions per upload size   (env BENCH_UPLOAD_REPS, default 3)
  --forward-sizes=A,B,C   forwarder record counts       (env BENCH_FORWARD_SIZES, default 10000,30000,100000)
  --forward-reps=N        repetitions per record count  (env BENCH_FORWARD_REPS, default 3)
  --forward-latency-ms=N  each write API request handled N ms after it arrives, as across a
                          network (env BENCH_FORWARD_LATENCY_MS, default 0: the stand-in as is)
  --coldstart-runs=N      node processes per bundle, and per CLI start-up (env BENCH_COLDSTART_RUNS, default 15)
  --cost-files=N          files through the local pipeline for the cost section (env BENCH_COST_FILES, default 1000)
  --cost-datasets=N       datasets they are spread over (env BENCH_COST_DATASETS, default 100)
  --only=a,b              sections: ${SECTIONS.join(', ')} (env BENCH_ONLY)
  --store-dir=DIR         data of the local servers     (env BENCH_STORE_DIR, default /dev/shm or the temp dir)
  --out-dir=DIR           results.json and scaling.svg  (env BENCH_OUT_DIR, default bench/)
  --help`;

function list(value: string | undefined, name: string, whole = false): number[] | undefined {
  if (value === undefined || value === '') return undefined;
  const numbers = value.split(',').map((item) => Number(item.trim()));
  if (numbers.some((item) => !Number.isFinite(item) || item <= 0 || (whole && !Number.isInteger(item)))) {
    throw new Error(`${name} must be ${whole ? 'whole ' : ''}positive numbers: ${value}`);
  }
  return numbers;
}

function count(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new Error(`${name} must be a positive integer: ${value}`);
  return parsed;
}

function milliseconds(value: string | undefined, name: string): number {
  if (value === undefined || value === '') return 0;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`${name} must be milliseconds ≥ 0: ${value}`);
  return parsed;
}

export function parseOptions(
  argv: string[],
  env: NodeJS.ProcessEnv,
  defaults: { storeDir: string; outDir: string },
): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      large: { type: 'boolean', default: false },
      'upload-sizes': { type: 'string' },
      'upload-reps': { type: 'string' },
      'forward-sizes': { type: 'string' },
      'forward-reps': { type: 'string' },
      'forward-latency-ms': { type: 'string' },
      'coldstart-runs': { type: 'string' },
      'cost-files': { type: 'string' },
      'cost-datasets': { type: 'string' },
      only: { type: 'string' },
      'store-dir': { type: 'string' },
      'out-dir': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const uploadSizesMiB =
    list(values['upload-sizes'] ?? env.BENCH_UPLOAD_SIZES_MIB, 'upload sizes') ??
    (values.large ? [64, 256, 1024] : [16, 64, 256]);
  const forwardSizes = list(values['forward-sizes'] ?? env.BENCH_FORWARD_SIZES, 'forward sizes', true) ?? [
    10_000, 30_000, 100_000,
  ];
  const only = values.only ?? env.BENCH_ONLY;
  const sections = only ? only.split(',').map((name) => name.trim()) : [...SECTIONS];
  const unknown = sections.filter((name) => !(SECTIONS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new Error(`unknown sections: ${unknown.join(', ')}`);
  return {
    sections: sections as Section[],
    uploadSizesMiB: [...new Set(uploadSizesMiB)].sort((a, b) => a - b),
    uploadReps: count(values['upload-reps'] ?? env.BENCH_UPLOAD_REPS, 'upload reps', 3),
    forwardSizes: [...new Set(forwardSizes)].sort((a, b) => a - b),
    forwardTargetSize: forwardSizes.includes(100_000) ? 100_000 : Math.max(...forwardSizes),
    forwardReps: count(values['forward-reps'] ?? env.BENCH_FORWARD_REPS, 'forward reps', 3),
    forwardLatencyMs: milliseconds(
      values['forward-latency-ms'] ?? env.BENCH_FORWARD_LATENCY_MS,
      'forward latency',
    ),
    coldStartRuns: count(values['coldstart-runs'] ?? env.BENCH_COLDSTART_RUNS, 'cold start runs', 15),
    csvCheckSizeMiB: 64,
    csvCheckReps: 3,
    ingestionSeconds: [30, 60, 600, 7200, 86_400],
    storeDir: values['store-dir'] ?? env.BENCH_STORE_DIR ?? defaults.storeDir,
    outDir: values['out-dir'] ?? env.BENCH_OUT_DIR ?? defaults.outDir,
    costFiles: count(values['cost-files'] ?? env.BENCH_COST_FILES, 'cost files', 1000),
    costDatasets: count(values['cost-datasets'] ?? env.BENCH_COST_DATASETS, 'cost datasets', 100),
    stage: 'bench',
  };
}
