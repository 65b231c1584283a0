import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GovpubError } from './errors.js';

export const EVENT_SOURCE = 'govpub';
export type OutcomeDetailType =
  | 'Dataset Publish Succeeded'
  | 'Dataset Publish Failed'
  | 'Performance Records Forwarded'
  | 'Performance Records Forward Failed';

/** EventBridge's entry limit is 256 KB; a verbatim `failures` list is cut to stay under it. */
const MAX_DETAIL_BYTES = 200 * 1024;

/**
 * The detail as JSON, with its bulky lists (data.gov.sg's `failures`, the forwarder's `errors`,
 * the CSV check's problems) cut until it fits: the report keeps them whole.
 */
export function fitDetail(detail: Record<string, unknown>): string {
  let body = JSON.stringify(detail);
  if (Buffer.byteLength(body) <= MAX_DETAIL_BYTES) return body;
  const note = '(too large for an event: see the report)';
  const trimmed: Record<string, unknown> = {
    ...detail,
    failures: detail.failures === undefined ? undefined : note,
  };
  if (Array.isArray(detail.errors))
    trimmed.errors = [...detail.errors.slice(0, 20), { index: null, message: note }];
  if (typeof detail.check === 'object' && detail.check !== null)
    trimmed.check = { ...detail.check, problems: note };
  if (typeof detail.result === 'object' && detail.result !== null) {
    const result = detail.result as Record<string, unknown>;
    trimmed.result = {
      ...result,
      errors: Array.isArray(result.errors) ? result.errors.slice(0, 20) : result.errors,
    };
  }
  body = JSON.stringify(trimmed);
  if (Buffer.byteLength(body) <= MAX_DETAIL_BYTES) return body;
  const scalars = Object.entries(detail).filter(([, value]) => typeof value !== 'object' || value === null);
  return JSON.stringify({ ...Object.fromEntries(scalars), note });
}

export interface OutcomeEvents {
  publish(detailType: OutcomeDetailType, detail: Record<string, unknown>): Promise<void>;
}

/** Sends outcome events to an EventBridge bus (the default bus unless configured). */
export class EventBridgeOutcomeEvents implements OutcomeEvents {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(detailType: OutcomeDetailType, detail: Record<string, unknown>): Promise<void> {
    const body = fitDetail(detail);
    const output = await this.client.send(
      new PutEventsCommand({
        Entries: [{ Source: EVENT_SOURCE, DetailType: detailType, Detail: body, EventBusName: this.busName }],
      }),
    );
    if ((output.FailedEntryCount ?? 0) > 0) {
      const entry = output.Entries?.find((candidate) => candidate.ErrorCode);
      throw new GovpubError(`EventBridge refused the outcome event (${entry?.ErrorCode ?? 'unknown error'})`);
    }
  }
}
