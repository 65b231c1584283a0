import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localTemplate } from '../local/aws/template.js';

/**
 * Builds the CLI bundle, so the subprocess tests run the code of this checkout as `npm ci` would
 * ship it; packages the template the local pipeline reads its wiring from (once, before the
 * workers start, so none of them packages it beside another); gives the per-file secret scans (test/setup.ts) a place to tally, and prints the run's
 * total.
 */
export default async function setup(): Promise<() => void> {
  execFileSync(process.execPath, ['scripts/build-cli.mjs'], { stdio: 'inherit' });
  await localTemplate();
  const dir = mkdtempSync(join(tmpdir(), 'govpub-leak-scan-'));
  process.env.GOVPUB_LEAK_SCAN_DIR = dir;
  return () => {
    try {
      const tallies = readFileSync(join(dir, 'tally.ndjson'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { lines: number; bytes: number; leaks: number });
      const sum = (key: 'lines' | 'bytes' | 'leaks') =>
        tallies.reduce((total, tally) => total + tally[key], 0);
      process.stdout.write(
        `secret scan: ${tallies.length} test files, ${sum('lines')} lines (${(sum('bytes') / 1e6).toFixed(1)} MB) of logs, reports, events, errors and child output at DEBUG; ${sum('leaks')} leaks\n`,
      );
    } catch {
      // No file ran.
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
