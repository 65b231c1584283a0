type CaptureClient = <C>(client: C) => C;

let capture: CaptureClient = (client) => client;

/**
 * Wraps every AWS SDK client created from then on, for X-Ray: lib/tracing.ts sets it once per
 * container when tracing is on, before the first client is made. The tracer is not imported
 * here, so that the CLI, the local run and untraced functions never load it.
 */
export function captureClientsWith(wrap: CaptureClient): void {
  capture = wrap;
}

/** A client as it should be used: captured for X-Ray when tracing is on, else as it is. */
export function captured<C>(client: C): C {
  return capture(client);
}
