import { afterAll, expect } from 'vitest';
import { logger } from '../lib/observability.js';
import { installPromiseWithResolvers } from '../local/aws/polyfills.js';
import { exposeToScan, isServiceLogLine, scanAndReset } from './leak-scan.js';

// aws-local-stepfunctions 3 targets Node 22 and calls Promise.withResolvers, which Node 20 lacks.
installPromiseWithResolvers();

process.env.AWS_REGION ??= 'ap-southeast-1';

// The whole suite runs with the service logging everything, so that the secret scan below sees
// every line a deployed function could write; the lines are scanned, not shown.
logger.setLogLevel('DEBUG');
captureWrites(process.stdout, 'stdout');
captureWrites(process.stderr, 'stderr');

afterAll(() => {
  const file = expect.getState().testPath ?? 'unknown file';
  const leaks = scanAndReset(file, process.env.GOVPUB_LEAK_SCAN_DIR);
  if (leaks.length > 0) {
    const shown = leaks.slice(0, 10).map((leak) => `- ${leak.what} in ${leak.source}: …${leak.excerpt}…`);
    const more = leaks.length > shown.length ? `\n- and ${leaks.length - shown.length} more` : '';
    throw new Error(`secrets leaked into readable output:\n${shown.join('\n')}${more}`);
  }
});

function captureWrites(stream: NodeJS.WriteStream, source: string): void {
  const marked = stream as NodeJS.WriteStream & { govpubCaptured?: boolean };
  if (marked.govpubCaptured) return;
  marked.govpubCaptured = true;
  const write = stream.write.bind(stream);
  stream.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    exposeToScan(source, text);
    if (isServiceLogLine(text)) {
      // Nothing waits on a captured line; callbacks still run as a real write would.
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      if (callback) queueMicrotask(callback);
      return true;
    }
    return write(chunk, ...rest);
  }) as typeof stream.write;
}
