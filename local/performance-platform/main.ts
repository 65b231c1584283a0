/**
 * Runs the local Performance Platform write API on its own:
 *   npx tsx local/performance-platform/main.ts [--port 8090] [--config config/performance-platform-local.json]
 * Records live in a temporary LevelDB removed on exit; Ctrl-C stops it.
 */
import { parseArgs } from 'node:util';
import { loadDataSetsConfig, startLocalPerformancePlatform } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.LOCAL_PP_PORT ?? '8090' },
    config: { type: 'string', default: 'config/performance-platform-local.json' },
  },
});
const dataSets = loadDataSetsConfig(values.config);
const platform = await startLocalPerformancePlatform({ dataSets, port: Number(values.port) });
process.stdout.write(`Local Performance Platform write API at ${platform.baseUrl}\n`);
for (const { dataGroup, dataType, autoIds } of dataSets) {
  const ids = autoIds?.length ? ` (auto ids: ${autoIds.join(', ')})` : '';
  process.stdout.write(`  POST|PUT|GET ${platform.baseUrl}/data/${dataGroup}/${dataType}${ids}\n`);
}
process.stdout.write(`Tokens are in ${values.config}. Ctrl-C to stop.\n`);
const stop = (): void => {
  void platform.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
