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
    let body = JSON.stringify(detail);
    if (Buffer.byteLength(body) > MAX_DETAIL_BYTES) {
      body = JSON.stringify({ ...detail, failures: '(too large for an event: see the report)' });
    }
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
