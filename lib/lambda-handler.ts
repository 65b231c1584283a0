import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { emfMetrics, METRICS_NAMESPACE_PREFIX, type Metrics } from './metrics.js';
import { logger } from './observability.js';
import { startTracing } from './tracing.js';

/**
 * The functions' metrics, as embedded metric format in their logs (no API call). The namespace
 * is POWERTOOLS_METRICS_NAMESPACE (`govpub/<stage>`, from serverless.yml).
 */
const emf = new PowertoolsMetrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE_PREFIX,
  serviceName: process.env.POWERTOOLS_SERVICE_NAME || 'govpub',
});

/** What a handler gives lib/ as `metrics`. */
export const metrics: Metrics = emfMetrics(emf);

/**
 * A Lambda entry point: Powertools' logger context (keys reset per invocation), the metrics kept
 * during the invocation flushed at its end (error or not), and, when tracing is on, the X-Ray
 * handler segment. Awaited at module load, so the tracer is in place before any client is made.
 */
export async function lambdaHandler<E, R>(handle: (event: E, context: Context) => Promise<R>) {
  const tracer = await startTracing();
  const chain = middy<E, R, Error, Context>();
  // Outermost, so the segment covers the other middlewares; responses hold upload links and
  // reports, so they never go to X-Ray.
  if (tracer) chain.use(captureLambdaHandler(tracer, { captureResponse: false }));
  return chain
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(flushMetrics(emf))
    .handler(handle);
}

/**
 * Publishes what was kept; unlike Powertools' logMetrics, an invocation that measured nothing
 * writes nothing (logMetrics warns "No application metrics to publish" on every such invocation).
 */
export function flushMetrics(
  store: Pick<PowertoolsMetrics, 'hasStoredMetrics' | 'publishStoredMetrics'>,
): MiddlewareObj {
  const flush = async () => {
    if (store.hasStoredMetrics()) store.publishStoredMetrics();
  };
  return { after: flush, onError: flush };
}
