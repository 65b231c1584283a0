#!/usr/bin/env node
// Builds the govpub CLI into dist/cli/ (run by `npm ci` through `prepare`, by the test setup, and
// by `npm run build:cli`): one ESM bundle and a chunk per command, so `govpub --help` starts in
// plain node instead of compiling TypeScript, and `whoami` still never loads the AWS SDK.
import { rename, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const esbuild = await import('esbuild').catch(() => undefined);
if (!esbuild) {
  // `npm ci --omit=dev` still runs prepare; the functions need no CLI.
  process.stderr.write(
    'govpub: esbuild is not installed (npm ci --omit=dev?), so the CLI bundle was not built; npm ci builds it.\n',
  );
  process.exit(0);
}
const { build } = esbuild;

/**
 * The alias files stay files: a person edits them after installing, and the CLI reads them when it
 * runs (from dist/cli/, two folders below the root as lib/ is one: hence the path of its own).
 */
const aliasFilesReadAtRunTime = {
  name: 'alias-files-read-at-run-time',
  setup(builder) {
    builder.onResolve({ filter: /config\/datasets(-local)?\.json$/ }, (args) => ({
      path: args.path.split('/').at(-1),
      namespace: 'alias-file',
    }));
    builder.onLoad({ filter: /.*/, namespace: 'alias-file' }, (args) => ({
      contents: `import { readFileSync } from 'node:fs';\nexport default JSON.parse(readFileSync(new URL('../../config/${args.path}', import.meta.url), 'utf8'));\n`,
      loader: 'js',
    }));
  },
};

// Built aside, then swapped in: a CLI started meanwhile never reads a half-written bundle, and
// the chunks of earlier builds (named by their hashes) do not pile up.
const building = `dist/cli.building-${process.pid}`;
const replaced = `dist/cli.replaced-${process.pid}`;
await build({
  absWorkingDir: root,
  stdin: {
    contents: "import { runCli } from './lib/cli/main.ts';\nawait runCli();\n",
    resolveDir: root,
    sourcefile: 'govpub-cli-entry.ts',
    loader: 'ts',
  },
  outdir: building,
  entryNames: 'govpub',
  chunkNames: '[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  mainFields: ['module', 'main'],
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [aliasFilesReadAtRunTime],
  // Bundled CommonJS dependencies call require() from inside the ESM bundle.
  banner: {
    js: "import { createRequire as __govpubCreateRequire } from 'node:module'; const require = __govpubCreateRequire(import.meta.url);",
  },
});

await rename(`${root}dist/cli`, `${root}${replaced}`).catch((error) => {
  if (error.code !== 'ENOENT') throw error;
});
await rename(`${root}${building}`, `${root}dist/cli`);
await rm(`${root}${replaced}`, { recursive: true, force: true });
