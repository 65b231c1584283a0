/**
 * Section 5 and the forwarder half of 6: records to the local Performance Platform write API,
 * the naive sender and forwardRecords each in a child process, sizes and order interleaved.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Settings } from '../../lib/config.js';
import { startLocalPerformancePlatform } from '../../local/performance-platform/server.js';
import { runNodeChild } from '../lib/child.js';
import { MIB, max, median, pairedRatio, rotation } from '../lib/stats.js';
import {
  DIAGNOSTIC_PATH,
  FORWARD_PATHS,
  type ForwardChildArgs,
  type ForwardChildResult,
  type ForwardPath,
} from './protocol.js';

const DATA_GROUP = 'bench';
const TOKEN = 'bench-token';
/**
 * Children are killed past this: a minute plus 1 ms a record (1 000 records/s), plus the stated
 * latency once per chunk (chunks one at a time; the naive sender's 1 000 are fewer).
 */
const timeoutFor = (records: number, latencyMs: number, chunkSize: number) =>
  60_000 + records + Math.ceil(records / Math.min(chunkSize, 1000)) * latencyMs;

export type ForwarderSettings = NonNullable<ForwardChildArgs['settings']>;

export interface ForwarderBenchOptions {
  sizes: readonly number[];
  /** The size the target is judged at; the diagnostic path runs at this size only. */
  targetSize: number;
  reps: number;
  /** Passed to the local write API (`latencyMs`): a stated network between sender and service. */
  latencyMs: number;
  storeDir: string;
  bundle: string;
  settings: Settings;
  log: (message: string) => void;
}

export interface ForwardSample {
  rep: number;
  position: number;
  ms: number;
  recordsPerSec: number;
  maxRssBytes: number;
  /** CPU ms of the sender (child) and of this process (the write API) during the run. */
  cpuMs: number;
  serverCpuMs: number;
  /**
   * The share of the run's wall time the write API's event loop (this process's) was busy: near 1,
   * it is the bound, and no sender can go faster whatever it does.
   */
  serverLoopBusy: number;
  /** Requests the server logged for this run, their body bytes as sent, and how many were gzipped. */
  requests: number;
  bytesSent: number;
  gzipped: number;
}

export interface ForwardPathResult {
  samples: ForwardSample[];
  medianRecordsPerSec: number;
  requests: number;
  bytesSent: number;
  peakRssBytes: number;
  medianCpuMs: number;
}

export interface ForwardSizeResult {
  records: number;
  paths: Partial<Record<ForwardPath, ForwardPathResult>> & Record<'naive' | 'ours', ForwardPathResult>;
  /** Median over repetitions of ours' records/s ÷ the naive sender's in the same repetition. */
  ratio: number;
  /** The same for the diagnostic path, at the target size only. */
  diagnosticRatio?: number;
}

export interface ForwarderBenchResult {
  settings: ForwarderSettings;
  /** Absent in results committed before the option existed (then 0). */
  latencyMs?: number;
  targetSize: number;
  sizes: ForwardSizeResult[];
}

export async function runForwarderBench(options: ForwarderBenchOptions): Promise<ForwarderBenchResult> {
  const settings: ForwarderSettings = {
    PP_CHUNK_SIZE: options.settings.PP_CHUNK_SIZE,
    PP_CONCURRENCY: options.settings.PP_CONCURRENCY,
    PP_GZIP_ABOVE_BYTES: options.settings.PP_GZIP_ABOVE_BYTES,
    PP_GENERATE_IDS: options.settings.PP_GENERATE_IDS,
    PP_REQUEST_TIMEOUT_MS: options.settings.PP_REQUEST_TIMEOUT_MS,
    PP_MAX_ATTEMPTS: options.settings.PP_MAX_ATTEMPTS,
    PP_TOTAL_TIME_MS: options.settings.PP_TOTAL_TIME_MS,
  };
  const pathsAt = (records: number): ForwardPath[] =>
    records === options.targetSize ? [...FORWARD_PATHS, DIAGNOSTIC_PATH] : [...FORWARD_PATHS];
  const runs: Array<{ records: number; rep: number; path: ForwardPath }> = [];
  for (const path of pathsAt(options.targetSize)) runs.push({ records: 1000, rep: -1, path });
  for (let rep = 0; rep < options.reps; rep++) {
    for (const records of options.sizes) {
      for (const path of rotation(pathsAt(records), rep)) runs.push({ records, rep, path });
    }
  }
  const samples = new Map<string, ForwardSample[]>();
  const positions = new Map<string, number>();
  for (const run of runs) {
    // Reading every record back is slow; the warm-up and the first repetition prove that each
    // path stores them all.
    const measured = await forwardOnce(options, settings, run.path, run.records, run.rep <= 0);
    if (run.rep < 0) continue;
    const group = `${run.rep}/${run.records}`;
    const position = positions.get(group) ?? 0;
    positions.set(group, position + 1);
    const key = `${run.records}/${run.path}`;
    samples.set(key, [...(samples.get(key) ?? []), { rep: run.rep, position, ...measured }]);
    options.log(
      `forwarder: rep ${run.rep + 1}/${options.reps} ${run.records} records ${run.path}: ` +
        `${Math.round(measured.recordsPerSec)} records/s, ${measured.requests} requests, ` +
        `peak RSS ${(measured.maxRssBytes / MIB).toFixed(0)} MiB, CPU ${measured.cpuMs.toFixed(0)} ms ` +
        `(server ${measured.serverCpuMs.toFixed(0)} ms, its loop busy ${(measured.serverLoopBusy * 100).toFixed(0)}%)`,
    );
  }
  const summary = (records: number, path: ForwardPath) => summarise(samples.get(`${records}/${path}`) ?? []);
  const sizes = options.sizes.map((records): ForwardSizeResult => {
    const naive = summary(records, 'naive');
    const ours = summary(records, 'ours');
    const result: ForwardSizeResult = {
      records,
      paths: { naive, ours },
      ratio: pairedRatio(rates(ours), rates(naive)),
    };
    if (records === options.targetSize) {
      const diagnostic = summary(records, DIAGNOSTIC_PATH);
      result.paths[DIAGNOSTIC_PATH] = diagnostic;
      result.diagnosticRatio = pairedRatio(rates(diagnostic), rates(naive));
    }
    return result;
  });
  return { settings, latencyMs: options.latencyMs, targetSize: options.targetSize, sizes };
}

/**
 * One run against a fresh local write API (its own LevelDB), so no run pays for another's
 * stored records or compactions; checks what the server saw against what the child says.
 */
async function forwardOnce(
  options: ForwarderBenchOptions,
  settings: ForwarderSettings,
  path: ForwardPath,
  records: number,
  readBack: boolean,
): Promise<Omit<ForwardSample, 'rep' | 'position'>> {
  const dataType = `records-${path}`;
  const storageDir = await mkdtemp(join(options.storeDir, 'bench-pp-'));
  const pp = await startLocalPerformancePlatform({
    storageDir,
    dataSets: [{ dataGroup: DATA_GROUP, dataType, bearerToken: TOKEN }],
    latencyMs: options.latencyMs,
  });
  try {
    const args: ForwardChildArgs = {
      sender: path === 'naive' ? 'naive' : 'ours',
      baseUrl: pp.baseUrl,
      token: TOKEN,
      dataGroup: DATA_GROUP,
      dataType,
      records,
      ...(path === 'naive'
        ? {}
        : { settings: path === DIAGNOSTIC_PATH ? { ...settings, PP_CHUNK_SIZE: 1000 } : settings }),
    };
    const serverCpu = process.cpuUsage();
    const loop = performance.eventLoopUtilization();
    const result = await runNodeChild<ForwardChildResult>(
      options.bundle,
      [JSON.stringify(args)],
      timeoutFor(records, options.latencyMs, settings.PP_CHUNK_SIZE),
    );
    const serverUsed = process.cpuUsage(serverCpu);
    const serverLoopBusy = performance.eventLoopUtilization(loop).utilization;
    const logged = pp.requests();
    if (logged.length !== result.requests || logged.some((entry) => entry.status !== 200)) {
      throw new Error(`${path}: the server logged ${logged.length} requests, not ${result.requests} OK`);
    }
    if (readBack) {
      const stored = (await pp.records(DATA_GROUP, dataType)).length;
      if (stored !== records) throw new Error(`${path}: ${stored} of ${records} records stored`);
    }
    return {
      ms: result.ms,
      recordsPerSec: records / (result.ms / 1000),
      maxRssBytes: result.maxRssBytes,
      cpuMs: result.cpuMs,
      serverCpuMs: (serverUsed.user + serverUsed.system) / 1000,
      serverLoopBusy,
      requests: logged.length,
      bytesSent: logged.reduce((sum, entry) => sum + entry.bytes, 0),
      gzipped: logged.filter((entry) => entry.gzip).length,
    };
  } finally {
    await pp.close();
    await rm(storageDir, { recursive: true, force: true });
  }
}

function rates(result: ForwardPathResult): Array<{ rep: number; value: number }> {
  return result.samples.map((sample) => ({ rep: sample.rep, value: sample.recordsPerSec }));
}

function summarise(samples: ForwardSample[]): ForwardPathResult {
  return {
    samples,
    medianRecordsPerSec: median(samples.map((sample) => sample.recordsPerSec)),
    requests: median(samples.map((sample) => sample.requests)),
    bytesSent: median(samples.map((sample) => sample.bytesSent)),
    peakRssBytes: max(samples.map((sample) => sample.maxRssBytes)),
    medianCpuMs: median(samples.map((sample) => sample.cpuMs)),
  };
}
