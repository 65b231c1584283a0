#!/usr/bin/env node
// The govpub command line (lib/cli). TypeScript is loaded through tsx, with the project's tsconfig
// whatever the working directory.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { runCli } = await import(new URL('../lib/cli/main.ts', import.meta.url).href);
await runCli();
