/**
 * One forwarding run in a process of its own: builds the records (not timed), then sends them
 * with the naive sender or with forwardRecords. Prints { ms, cpuMs, maxRssBytes, records, requests }.
 */

import { noMetrics } from '../../lib/metrics.js';
import { createPpClient } from '../../lib/performance-platform/create-client.js';
import { forwardRecords } from '../../lib/performance-platform/forward.js';
import { childArgs, peakRssBytes, report, startMeasure } from '../lib/measure.js';
import { type ForwardChildArgs, type ForwardChildResult, NAIVE_BATCH } from './protocol.js';
import { makeRecords } from './records.js';

const args = childArgs<ForwardChildArgs>();
const url = `${args.baseUrl}/data/${args.dataGroup}/${args.dataType}`;
const records = makeRecords(args.records);
const silent = { debug() {}, info() {}, warn() {}, error() {} };

async function naive(): Promise<number> {
  let requests = 0;
  for (let from = 0; from < records.length; from += NAIVE_BATCH) {
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${args.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(records.slice(from, from + NAIVE_BATCH)),
    });
    await response.text();
    requests += 1;
    if (!response.ok) throw new Error(`POST answered ${response.status}`);
  }
  return requests;
}

async function ours(): Promise<number> {
  const settings = args.settings;
  if (!settings) throw new Error('ours needs the settings');
  let requests = 0;
  const client = createPpClient({ ...settings, PP_BASE_URL: args.baseUrl }, async () => args.token, {
    fetch: (input, init) => {
      requests += 1;
      return fetch(input, init);
    },
  });
  const result = await forwardRecords(
    { client, log: silent, metrics: noMetrics },
    {
      dataGroup: args.dataGroup,
      dataType: args.dataType,
      records,
      chunkSize: settings.PP_CHUNK_SIZE,
      concurrency: settings.PP_CONCURRENCY,
      generateIds: settings.PP_GENERATE_IDS,
    },
  );
  if (result.outcome !== 'forwarded') throw new Error(`forwardRecords: ${result.outcome}`);
  return requests;
}

const measure = startMeasure();
const requests = args.sender === 'naive' ? await naive() : await ours();
const { ms, cpuMs } = measure.stop();
const result: ForwardChildResult = {
  ms,
  cpuMs,
  maxRssBytes: peakRssBytes(),
  records: records.length,
  requests,
};
report(result);
