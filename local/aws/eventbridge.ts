import { randomUUID } from 'node:crypto';
import type { EventBridgeClientConfig } from '@aws-sdk/client-eventbridge';
import type { EventBridgeEvent } from 'aws-lambda';
import { type AwsCaller, AwsServiceError, createAwsJsonRpcServer } from './aws-json-rpc.js';
import {
  closeServer,
  isRecord,
  LOCAL_ACCOUNT_ID,
  LOCAL_REGION,
  listenLocal,
  localCredentials,
  localEndpoint,
  notifyAll,
} from './common.js';

export interface RecordedEvent {
  eventId: string;
  eventBusName: string;
  source: string;
  detailType: string;
  /** Detail, parsed. */
  detail: unknown;
  resources: string[];
  time: Date;
}

export type RecordedEventListener = (event: RecordedEvent) => void;

export interface LocalEventBridgeOptions {
  /** 0 or omitted: a free port. */
  port?: number;
  /**
   * The buses' resource policies, as far as they decide by source: an entry they refuse fails
   * with NotAuthorizedForSourceException, as PutEvents reports an entry a policy denies.
   */
  mayPut?: (entry: { eventBusName: string; source: string }, caller: AwsCaller) => boolean;
}

export interface LocalEventBridge {
  endpoint: string;
  /** Accepted events, in order. */
  events(): RecordedEvent[];
  /** Called for every accepted event, before PutEvents responds. */
  onEvent(listener: RecordedEventListener): () => void;
  close(): Promise<void>;
}

const MAX_ENTRIES = 10;
/** PutEvents rejects a request whose entries add up to more than 256 KiB. */
const MAX_ENTRIES_SIZE_BYTES = 256 * 1024;
/** How AWS counts Time in an entry's size, whether or not it is set. */
const TIME_SIZE_BYTES = 14;

type PutEventsResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/** EventBridge PutEvents (AWS JSON 1.1) on 127.0.0.1, recording what it accepts. */
export async function startLocalEventBridge(
  options: LocalEventBridgeOptions = {},
): Promise<LocalEventBridge> {
  const recorded: RecordedEvent[] = [];
  const listeners = new Set<RecordedEventListener>();
  const accept = (event: RecordedEvent): void => {
    recorded.push(event);
    notifyAll(listeners, event);
  };
  const server = createAwsJsonRpcServer({
    targetPrefix: 'AWSEvents',
    contentType: 'application/x-amz-json-1.1',
    operations: {
      PutEvents: (input, caller) =>
        putEvents(input, accept, (entry) => options.mayPut?.(entry, caller) ?? true),
    },
  });
  const port = await listenLocal(server, options.port ?? 0);
  return {
    endpoint: localEndpoint(port),
    events: () => recorded.map((event) => structuredClone(event)),
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => closeServer(server),
  };
}

export function localEventBridgeClientConfig(endpoint: string): EventBridgeClientConfig {
  return { endpoint, region: LOCAL_REGION, credentials: localCredentials() };
}

/** The envelope a rule target (e.g. a Lambda function) receives for a recorded event. */
export function toEventBridgeEnvelope(event: RecordedEvent): EventBridgeEvent<string, unknown> {
  return {
    version: '0',
    id: event.eventId,
    'detail-type': event.detailType,
    source: event.source,
    account: LOCAL_ACCOUNT_ID,
    time: event.time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: LOCAL_REGION,
    resources: [...event.resources],
    detail: structuredClone(event.detail),
  };
}

type MayPut = (entry: { eventBusName: string; source: string }) => boolean;

function putEvents(
  input: Record<string, unknown>,
  accept: (event: RecordedEvent) => void,
  mayPut: MayPut,
): unknown {
  const entries = validateEntries(input.Entries);
  const results = entries.map((entry) => putEntry(entry, accept, mayPut));
  return {
    FailedEntryCount: results.filter((result) => 'ErrorCode' in result).length,
    Entries: results,
  };
}

function validateEntries(value: unknown): Record<string, unknown>[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_ENTRIES) {
    throw new AwsServiceError('ValidationException', `Entries must be a list of 1 to ${MAX_ENTRIES} entries`);
  }
  const entries = value.map((entry) => (isRecord(entry) ? entry : {}));
  const totalSize = entries.reduce((sum, entry) => sum + entrySize(entry), 0);
  if (totalSize > MAX_ENTRIES_SIZE_BYTES) {
    throw new AwsServiceError(
      'ValidationException',
      `Total size of the entries in the request is over the limit (${totalSize} > ${MAX_ENTRIES_SIZE_BYTES} bytes)`,
    );
  }
  return entries;
}

function entrySize(entry: Record<string, unknown>): number {
  const stringSize = (value: unknown): number => (typeof value === 'string' ? Buffer.byteLength(value) : 0);
  const resources = Array.isArray(entry.Resources) ? entry.Resources : [];
  return (
    TIME_SIZE_BYTES +
    stringSize(entry.Source) +
    stringSize(entry.DetailType) +
    stringSize(entry.Detail) +
    resources.reduce((sum: number, resource) => sum + stringSize(resource), 0)
  );
}

function putEntry(
  entry: Record<string, unknown>,
  accept: (event: RecordedEvent) => void,
  mayPut: MayPut,
): PutEventsResultEntry {
  for (const member of ['Source', 'DetailType', 'Detail'] as const) {
    if (typeof entry[member] !== 'string' || entry[member] === '') {
      return {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: `Parameter ${member} is not valid. Reason: ${member} is a required argument.`,
      };
    }
  }
  const eventBusName = typeof entry.EventBusName === 'string' ? entry.EventBusName : 'default';
  if (!mayPut({ eventBusName, source: String(entry.Source) })) {
    return {
      ErrorCode: 'NotAuthorizedForSourceException',
      ErrorMessage: 'Not authorized for the source.',
    };
  }
  const detail = parseDetail(String(entry.Detail));
  if (detail === undefined) {
    return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
  }
  const event: RecordedEvent = {
    eventId: randomUUID(),
    eventBusName,
    source: String(entry.Source),
    detailType: String(entry.DetailType),
    detail,
    resources: Array.isArray(entry.Resources) ? entry.Resources.map(String) : [],
    // The SDK sends Time as epoch seconds.
    time: typeof entry.Time === 'number' ? new Date(entry.Time * 1000) : new Date(),
  };
  accept(event);
  return { EventId: event.eventId };
}

/** Detail must be a JSON object; anything else is malformed. */
function parseDetail(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return isRecord(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}
