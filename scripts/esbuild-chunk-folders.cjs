// esbuild plugins for serverless-esbuild (custom.esbuild.plugins). CommonJS because
// serverless-esbuild loads this file with require().
const path = require('node:path');

/**
 * With `splitting`, code reached only through a dynamic import() (the tracer and X-Ray SDK, the
 * AWS SDK's credential providers other than the environment's) goes into chunk files that a cold
 * start never parses unless it needs them. serverless-esbuild builds each handler on its own into
 * one folder, so their chunks would mix and every zip would carry every handler's chunks. This
 * puts a handler's chunks in `<handler>.chunks/`: serverless-esbuild leaves a path that starts
 * with another handler's bundle name and a dot (`upload-file.…`) out of every other zip.
 */
const chunkFolderPerHandler = {
  name: 'govpub-chunk-folder-per-handler',
  setup(build) {
    const entries = build.initialOptions.entryPoints;
    const list = Array.isArray(entries) ? entries : Object.values(entries ?? {});
    if (list.length !== 1) return;
    const entry = typeof list[0] === 'string' ? list[0] : list[0].in;
    build.initialOptions.chunkNames = `${path.basename(entry, path.extname(entry))}.chunks/[name]-[hash]`;
  },
};

module.exports = [chunkFolderPerHandler];
