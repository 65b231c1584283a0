import { Logger } from '@aws-lambda-powertools/logger';

/** The one logger of the service. Messages are stable codes; facts go in keys, never payloads. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'govpub' });

/** What lib/ needs of a logger, so callers may pass a child logger or a test double. */
export type Log = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
