/**
 * `npm run bench`: measures what issue 7 asks, each figure against a baseline measured in the
 * same run, prints the verdicts and details, and writes bench/results.json and bench/scaling.svg.
 * See bench/README.md for how to read them.
 */
import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSettings } from '../lib/config.js';
import { type CliStartupResult, runCliStartupBench } from './cli/bench.js';
import { type ColdStartResult, runColdStartBench } from './coldstart/bench.js';
import { type CostBenchResult, runCostBench } from './cost/bench.js';
import { type CsvCheckBenchResult, runCsvCheckBench } from './csvcheck/bench.js';
import { type ForwarderBenchResult, runForwarderBench } from './forwarder/bench.js';
import { bundleChildren } from './lib/child.js';
import { type BenchOptions, parseOptions, USAGE } from './lib/options.js';
import { type PollingBenchResult, runPollingBench } from './polling/bench.js';
import {
  type Measurements,
  renderDetails,
  renderScalingSvg,
  renderTargets,
  TARGETS,
  targetChecks,
} from './report.js';
import { runUploadBench, type UploadBenchResult } from './upload/bench.js';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));

function defaultStoreDir(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return os.tmpdir();
  }
}

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

async function main(): Promise<void> {
  const parsed = parseOptions(process.argv.slice(2), process.env, {
    storeDir: defaultStoreDir(),
    outDir: BENCH_DIR,
  });
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const options: BenchOptions = parsed;
  const settings = loadSettings();
  const started = performance.now();
  const loadBefore = os.loadavg();
  const workDir = await mkdtemp(join(os.tmpdir(), 'govpub-bench-'));
  const measured: Measurements = {};
  const seconds: Record<string, number> = {};
  const timed = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const at = performance.now();
    try {
      return await run();
    } finally {
      seconds[name] = Math.round((performance.now() - at) / 100) / 10;
      log(`${name} took ${seconds[name]} s`);
    }
  };
  try {
    const wants = (section: BenchOptions['sections'][number]) => options.sections.includes(section);
    let coldStart: ColdStartResult | undefined;
    let polling: PollingBenchResult | undefined;
    let upload: UploadBenchResult | undefined;
    let forwarder: ForwarderBenchResult | undefined;
    let csvCheck: CsvCheckBenchResult | undefined;
    let cli: CliStartupResult | undefined;
    let cost: CostBenchResult | undefined;
    // Cold start first, while no local server competes for the CPU.
    if (wants('coldstart')) {
      coldStart = await timed('coldstart', () =>
        runColdStartBench({ runs: options.coldStartRuns, stage: options.stage, workDir, log }),
      );
    }
    if (wants('cli')) {
      cli = await timed('cli', () => runCliStartupBench({ runs: options.coldStartRuns, log }));
    }
    if (wants('polling')) {
      polling = await timed('polling', () => runPollingBench(settings, options.ingestionSeconds));
    }
    // In this process, before any local server starts.
    if (wants('csvcheck')) {
      csvCheck = await timed('csvcheck', () =>
        runCsvCheckBench({ sizeMiB: options.csvCheckSizeMiB, reps: options.csvCheckReps, log }),
      );
    }
    if (wants('upload') || wants('forwarder')) {
      log('bundling the measured child processes (esbuild, as serverless.yml does)');
      const bundles = await bundleChildren(
        {
          'upload-bare': join(BENCH_DIR, 'upload/child-bare.ts'),
          'upload-ours': join(BENCH_DIR, 'upload/child-ours.ts'),
          forwarder: join(BENCH_DIR, 'forwarder/child.ts'),
        },
        join(workDir, 'children'),
      );
      const bundle = (name: string) => {
        const path = bundles[name];
        if (!path) throw new Error(`no bundle ${name}`);
        return path;
      };
      if (wants('upload')) {
        upload = await timed('upload', () =>
          runUploadBench({
            sizesMiB: options.uploadSizesMiB,
            reps: options.uploadReps,
            storeDir: options.storeDir,
            bundles: { bare: bundle('upload-bare'), ours: bundle('upload-ours') },
            log,
          }),
        );
      }
      if (wants('forwarder')) {
        forwarder = await timed('forwarder', () =>
          runForwarderBench({
            sizes: options.forwardSizes,
            targetSize: options.forwardTargetSize,
            reps: options.forwardReps,
            latencyMs: options.forwardLatencyMs,
            storeDir: options.storeDir,
            bundle: bundle('forwarder'),
            settings,
            log,
          }),
        );
      }
    }
    if (wants('cost')) {
      cost = await timed('cost', () =>
        runCostBench({ files: options.costFiles, datasets: options.costDatasets, log }),
      );
    }
    Object.assign(measured, {
      ...(upload ? { upload } : {}),
      ...(csvCheck ? { csvCheck } : {}),
      ...(coldStart ? { coldStart } : {}),
      ...(polling ? { polling } : {}),
      ...(forwarder ? { forwarder } : {}),
      ...(cli ? { cli } : {}),
      ...(cost ? { cost } : {}),
    });
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }

  const checks = targetChecks(measured);
  const missed = checks.filter((check) => !check.met).length;
  const generatedAt = new Date().toISOString();
  const cpus = os.cpus();
  const machine = {
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    loadAverageAtStart: loadBefore,
    loadAverageAtEnd: os.loadavg(),
  };
  const durationSeconds = Math.round((performance.now() - started) / 1000);
  const results = {
    schema: 1,
    generatedAt,
    durationSeconds,
    sectionSeconds: seconds,
    machine,
    options: { ...options, outDir: relative(process.cwd(), options.outDir) || '.' },
    targets: TARGETS,
    summary: { checks: checks.length, met: checks.length - missed, missed },
    checks,
    ...measured,
  };

  const caption = `${generatedAt.slice(0, 10)}, ${machine.cpus} × ${machine.cpuModel}, Node ${machine.node}`;
  const out = [
    `Targets (${checks.length - missed} met, ${missed} missed; ${caption}; ${durationSeconds} s)`,
    renderTargets(checks),
    ...renderDetails(measured),
  ];
  process.stdout.write(`\n${out.join('\n\n')}\n`);

  await mkdir(options.outDir, { recursive: true });
  await writeFile(join(options.outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const svg = renderScalingSvg(measured, caption);
  if (svg) await writeFile(join(options.outDir, 'scaling.svg'), svg);
  log(`wrote ${join(options.outDir, 'results.json')}${svg ? ' and scaling.svg' : ''}`);
}

await main();
