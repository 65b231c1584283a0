#!/usr/bin/env node
import { fileURLToPath } from 'node:url';
// Builds the govpub CLI into dist/cli/ (run by `npm ci` through `prepare`, by the test setup, and
// by `npm run build:cli`): one ESM bundle and a chunk per command, so `govpub --help` starts in
// plain node instead of compiling TypeScript, and `whoami` still never loads the AWS SDK.
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

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

await build({
  absWorkingDir: root,
  stdin: {
    contents: "import { runCli } from './lib/cli/main.ts';\nawait runCli();\n",
    resolveDir: root,
    sourcefile: 'govpub-cli-entry.ts',
    loader: 'ts',
  },
  outdir: 'dist/cli',
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
