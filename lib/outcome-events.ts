import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GovpubError } from './errors.js';

export const EVENT_SOURCE = 'govpub';
export type OutcomeDetailType =
  | 'Dataset Publish Succeeded'
  | 'Dataset Publish Failed'
  | 'Dataset Publish Unconfirmed'
  | 'Performance Records Forwarded'
  | 'Performance Records Forward Failed'
  | 'Performance Data Set Emptied';

/** EventBridge's entry limit is 256 KB; a verbatim `failures` list is cut to stay under it. */
const MAX_DETAIL_BYTES = 200 * 1024;

/**
 * The detail as JSON, with its bulky lists (data.gov.sg's `failures`, the forwarder's `errors`,
 * the CSV check's problems) cut until it fits: the report keeps them whole.
 */
export function fitDetail(detail: Record<string, unknown>): string {
  const body = JSON.stringify(detail);
  if (Buffer.byteLength(body) <= MAX_DETAIL_BYTES) return body;
  const note = '(too large for an event: see the report)';
  const trimmed = trimLists(detail, note);
  if (typeof detail.check === 'object' && detail.check !== null)
    trimmed.check = { ...detail.check, problems: note };
  if (typeof detail.result === 'object' && detail.result !== null) {
    trimmed.result = trimLists(detail.result as Record<string, unknown>, note);
  }
  const smaller = JSON.stringify(trimmed);
  if (Buffer.byteLength(smaller) <= MAX_DETAIL_BYTES) return smaller;
  // Last resort: what identifies the file or request, its outcome and its error code.
  const scalars = Object.entries(detail).filter(([, value]) => typeof value !== 'object' || value === null);
  return JSON.stringify({ ...Object.fromEntries(scalars), error: detail.error ?? null, note });
}

/** Cuts the long lists an outcome may carry: failures, errors, chunks, request ids. */
function trimLists(value: Record<string, unknown>, note: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...value };
  if (value.failures !== undefined && value.failures !== null) out.failures = note;
  if (Array.isArray(value.errors))
    out.errors = [...value.errors.slice(0, 20), { index: null, message: note }];
  if (Array.isArray(value.chunks)) out.chunks = `${value.chunks.length} chunks: ${note}`;
  if (Array.isArray(value.requestIds)) out.requestIds = value.requestIds.slice(0, 20);
  return out;
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
