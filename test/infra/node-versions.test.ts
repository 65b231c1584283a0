import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

/** The first number a pattern captures in a file, or a failure naming what was looked for. */
function major(path: string, pattern: RegExp): number {
  const found = pattern.exec(read(path))?.[1];
  if (!found) throw new Error(`${pattern} not found in ${path}`);
  return Number(found);
}

describe('the supported Node versions, stated once', () => {
  const engines = major('package.json', /"node": ">=(\d+)\.\d+"/);
  const bundleTarget = major('serverless.yml', /^\s+target: node(\d+)$/m);
  const runtime = major('serverless.yml', /^\s+runtime: nodejs(\d+)\.x$/m);
  const nvmrc = major('.nvmrc', /^(\d+)\s*$/);

  it('bundles for the oldest Node the code supports, and recommends the one Lambda runs', () => {
    expect(bundleTarget).toBe(engines);
    expect(nvmrc).toBe(runtime);
    expect(runtime).toBeGreaterThanOrEqual(engines);
  });

  it('says so in the README', () => {
    const quickStart = read('README.md').split('## Quick start')[1]?.split('```')[0] ?? '';
    expect(quickStart).toContain(`Node.js ${engines}.`);
    expect(quickStart).toContain(`${runtime} recommended`);
    expect(quickStart).toContain(`nodejs${runtime}.x`);
  });
});
