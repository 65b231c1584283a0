import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type LocalEventBridge,
  localEventBridgeClientConfig,
  type RecordedEvent,
  startLocalEventBridge,
  toEventBridgeEnvelope,
} from '../../../local/aws/eventbridge.js';

describe('startLocalEventBridge', () => {
  let bus: LocalEventBridge;
  let client: EventBridgeClient;
  let seenByListener: RecordedEvent[] = [];

  beforeAll(async () => {
    bus = await startLocalEventBridge();
    bus.onEvent((event) => seenByListener.push(event));
    client = new EventBridgeClient(localEventBridgeClientConfig(bus.endpoint));
  });

  beforeEach(() => {
    seenByListener = [];
  });

  afterAll(async () => {
    client.destroy();
    await bus.close();
  });

  it('records each entry with its parsed Detail when PutEvents is sent through the real client', async () => {
    const before = bus.events().length;

    const result = await client.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: 'govpub.publisher',
            DetailType: 'DropPublished',
            Detail: JSON.stringify({ dropId: 'd-1', rows: 3 }),
            EventBusName: 'govpub-ci',
            Time: new Date('2026-01-02T03:04:05Z'),
          },
          { Source: 'govpub.publisher', DetailType: 'DropPublished', Detail: '{"dropId":"d-2"}' },
        ],
      }),
    );

    expect(result.FailedEntryCount).toBe(0);
    expect(result.Entries?.map((entry) => entry.EventId)).toEqual([
      expect.stringMatching(/^[0-9a-f-]{36}$/),
      expect.stringMatching(/^[0-9a-f-]{36}$/),
    ]);
    const recorded = bus.events().slice(before);
    expect(recorded).toEqual([
      {
        eventId: result.Entries?.[0]?.EventId,
        eventBusName: 'govpub-ci',
        source: 'govpub.publisher',
        detailType: 'DropPublished',
        detail: { dropId: 'd-1', rows: 3 },
        resources: [],
        time: new Date('2026-01-02T03:04:05Z'),
      },
      expect.objectContaining({ eventBusName: 'default', detail: { dropId: 'd-2' } }),
    ]);
    expect(seenByListener).toEqual(recorded);
  });

  it('fails only the entry whose Detail is not a JSON object', async () => {
    const before = bus.events().length;

    const result = await client.send(
      new PutEventsCommand({
        Entries: [
          { Source: 's', DetailType: 't', Detail: '{"ok":true}' },
          { Source: 's', DetailType: 't', Detail: '{not json' },
          { Source: 's', DetailType: 't', Detail: '[1,2]' },
        ],
      }),
    );

    expect(result.FailedEntryCount).toBe(2);
    expect(result.Entries?.[0]?.EventId).toBeDefined();
    expect(result.Entries?.slice(1).map((entry) => entry.ErrorCode)).toEqual([
      'MalformedDetail',
      'MalformedDetail',
    ]);
    expect(
      bus
        .events()
        .slice(before)
        .map((event) => event.detail),
    ).toEqual([{ ok: true }]);
  });

  it('fails an entry without Source, DetailType or Detail as an invalid argument', async () => {
    const result = await client.send(new PutEventsCommand({ Entries: [{ Source: 's', Detail: '{}' }] }));

    expect(result.FailedEntryCount).toBe(1);
    expect(result.Entries?.[0]).toMatchObject({ ErrorCode: 'InvalidArgument' });
  });

  it('rejects a request of more than 10 entries with a ValidationException', async () => {
    const entries = Array.from({ length: 11 }, () => ({ Source: 's', DetailType: 't', Detail: '{}' }));

    await expect(client.send(new PutEventsCommand({ Entries: entries }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('rejects entries over 256 KiB in total with a ValidationException', async () => {
    const detail = JSON.stringify({ blob: 'x'.repeat(200 * 1024) });
    const entries = [1, 2].map(() => ({ Source: 's', DetailType: 't', Detail: detail }));

    await expect(client.send(new PutEventsCommand({ Entries: entries }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('stops notifying a listener when it unsubscribes', async () => {
    const seen: unknown[] = [];
    const unsubscribe = bus.onEvent((event) => seen.push(event.detail));

    await client.send(
      new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 't', Detail: '{"n":1}' }] }),
    );
    unsubscribe();
    await client.send(
      new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 't', Detail: '{"n":2}' }] }),
    );

    expect(seen).toEqual([{ n: 1 }]);
  });
});

describe('toEventBridgeEnvelope', () => {
  it('builds the event a rule target receives from a recorded event', () => {
    const envelope = toEventBridgeEnvelope({
      eventId: 'id-1',
      eventBusName: 'default',
      source: 'govpub.publisher',
      detailType: 'DropPublished',
      detail: { dropId: 'd-1' },
      resources: ['arn:aws:s3:::drops'],
      time: new Date('2026-01-02T03:04:05.678Z'),
    });

    expect(envelope).toEqual({
      version: '0',
      id: 'id-1',
      'detail-type': 'DropPublished',
      source: 'govpub.publisher',
      account: '000000000000',
      time: '2026-01-02T03:04:05Z',
      region: 'ap-southeast-1',
      resources: ['arn:aws:s3:::drops'],
      detail: { dropId: 'd-1' },
    });
  });
});
