#!/usr/bin/env node
// The govpub command line (lib/cli): the bundle that `npm ci` builds (scripts/build-cli.mjs), so
// start-up is plain node. Without it (a checkout where the build has not run), the TypeScript
// is loaded through tsx, a development dependency, at a cost of about half a second per call.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = new URL('../dist/cli/govpub.mjs', import.meta.url);
if (existsSync(fileURLToPath(bundle)) && !process.env.GOVPUB_CLI_FROM_SOURCE) {
  await import(bundle.href);
} else {
  const tsx = await import('tsx/esm/api').catch(() => undefined);
  if (!tsx) {
    process.stderr.write(
      'govpub: the CLI is not built; run npm ci (or npm run build:cli) in the repository.\n',
    );
    process.exit(1);
  }
  const { register } = tsx;
  register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
  const { runCli } = await import(new URL('../lib/cli/main.ts', import.meta.url).href);
  await runCli();
}
