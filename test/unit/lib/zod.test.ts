import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { makeCheckStatusHandler } from '../../../functions/sfn-check-status.js';
import { loadSettings } from '../../../lib/config.js';
import type { PollDeps } from '../../../lib/publish/poll.js';
import { describeIssues, publishRequestedSchema } from '../../../lib/schemas.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('lib/zod.ts: zod/mini with the messages of classic zod', () => {
  // zod/mini has no locale of its own: without lib/zod.ts's config(en()) each of these reads
  // "Invalid input".
  it('words a setting error in English', () => {
    expect(() => loadSettings({ DGS_MAX_ATTEMPTS: 'abc' })).toThrow(
      'Invalid configuration: DGS_MAX_ATTEMPTS: Invalid input: expected number, received NaN',
    );
    expect(() => loadSettings({ PP_CHUNK_SIZE: '0' })).toThrow(
      'Invalid configuration: PP_CHUNK_SIZE: Too small: expected number to be >0',
    );
  });

  it('words a refused request in English', () => {
    const parsed = publishRequestedSchema.safeParse({
      'detail-type': 'Publish Dataset Requested',
      detail: { bucket: '', key: 3, mode: 'move' },
    });
    expect(parsed.success).toBe(false);
    expect(describeIssues(parsed.error?.issues ?? [])).toBe(
      'detail.bucket: Too small: expected string to have >=1 characters; ' +
        'detail.key: Invalid input: expected string, received number; ' +
        'detail.mode: Invalid option: expected one of "replace"|"append"|"replace-new-columns"',
    );
  });

  it('throws a ZodError, as classic zod does, on a state a task cannot read', async () => {
    const handler = makeCheckStatusHandler(() => ({}) as PollDeps);
    const error = await handler({ publication: {}, poll: {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: 'ZodError' });
    expect((error as Error).message).toContain(
      '"message": "Invalid input: expected string, received undefined"',
    );
  });
});

describe('zod in the Lambda bundles', () => {
  it('bundles zod/mini and one locale into a handler, never classic zod', async () => {
    const result = await build({
      absWorkingDir: ROOT,
      entryPoints: ['functions/sfn-check-status.ts'],
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      mainFields: ['module', 'main'],
      metafile: true,
      write: false,
      outfile: 'out.mjs',
      logLevel: 'silent',
    });
    const inputs = Object.entries(Object.values(result.metafile.outputs)[0]?.inputs ?? {})
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([path]) => path);
    expect(inputs).toContain('node_modules/zod/v4/mini/schemas.js');
    expect(inputs.filter((path) => path.includes('node_modules/zod/v4/classic/'))).toEqual([]);
    // Through z.locales every locale would be bundled.
    expect(inputs.filter((path) => path.includes('node_modules/zod/v4/locales/'))).toEqual([
      'node_modules/zod/v4/locales/en.js',
    ]);
  });

  it('imports zod only in lib/zod.ts, so that the locale is always loaded', () => {
    const importers = ['lib', 'functions', 'local', 'bench', 'bin', 'scripts']
      .flatMap((folder) => sourceFiles(join(ROOT, folder)))
      .filter((file) => /(?:from|import) 'zod(?:\/[^']*)?'/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(ROOT, file));
    expect(importers).toEqual(['lib/zod.ts']);
  });
});

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|mts|js|mjs|cjs)$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}
