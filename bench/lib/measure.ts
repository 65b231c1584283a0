/**
 * Child side of a measurement: kept free of heavy imports, since it is bundled into every
 * measured child process.
 */

/** What every measured child reports about itself. */
export interface ChildMeasure {
  /** Wall time of the measured work only (set-up excluded), in ms. */
  ms: number;
  /** Peak resident set size of the child process, in bytes. */
  maxRssBytes: number;
  /** CPU time (user + system) the child spent in the measured work, in ms. */
  cpuMs: number;
}

/** Peak RSS of this process in bytes (`maxRSS` is in KiB). */
export function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/** Starts measuring: call `stop()` right after the measured work. */
export function startMeasure(): { stop(): { ms: number; cpuMs: number } } {
  const started = performance.now();
  const cpu = process.cpuUsage();
  return {
    stop() {
      const used = process.cpuUsage(cpu);
      return { ms: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
    },
  };
}

/** The single JSON argument a child receives. */
export function childArgs<T>(): T {
  const raw = process.argv[2];
  if (!raw) throw new Error('usage: node child.mjs JSON_ARGUMENTS');
  return JSON.parse(raw) as T;
}

/** Prints the child's result as its last stdout line and exits. */
export function report(result: object): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
