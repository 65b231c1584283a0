import type { Tracer } from '@aws-lambda-powertools/tracer';
import { captureClientsWith } from './client-capture.js';

/**
 * Whether this container traces: serverless.yml sets POWERTOOLS_TRACE_ENABLED to the stage's
 * `tracing` parameter. Anything but "true" (unset included: the local run, tests, the bench) loads
 * nothing, since the tracer and the X-Ray SDK under it cost every cold start tens of milliseconds.
 */
export function tracingEnabled(env: Record<string, string | undefined> = process.env): boolean {
  return env.POWERTOOLS_TRACE_ENABLED === 'true';
}

/**
 * Loads Powertools Tracer when tracing is on (a dynamic import: esbuild keeps it in the bundle,
 * but it is evaluated only here), and captures every AWS SDK client made from then on.
 */
export async function startTracing(
  env: Record<string, string | undefined> = process.env,
): Promise<Tracer | undefined> {
  if (!tracingEnabled(env)) return undefined;
  const { Tracer } = await import('@aws-lambda-powertools/tracer');
  const tracer = new Tracer({ serviceName: env.POWERTOOLS_SERVICE_NAME || 'govpub' });
  captureClientsWith((client) => tracer.captureAWSv3Client(client));
  return tracer;
}
