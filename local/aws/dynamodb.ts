import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type DynamoDBClientConfig,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { closeServer, LOCAL_REGION, listenLocal, localCredentials, localEndpoint } from './common.js';

export interface LocalDynamoDbOptions {
  /** 0 or omitted: a free port. */
  port?: number;
}

export interface LocalDynamoDb {
  endpoint: string;
  close(): Promise<void>;
}

/** DynamoDB (dynalite, in memory) on 127.0.0.1; tables become ACTIVE at once. */
export async function startLocalDynamoDb(options: LocalDynamoDbOptions = {}): Promise<LocalDynamoDb> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const port = await listenLocal(server, options.port ?? 0);
  return { endpoint: localEndpoint(port), close: () => closeServer(server) };
}

export function localDynamoClientConfig(endpoint: string): DynamoDBClientConfig {
  return { endpoint, region: LOCAL_REGION, credentials: localCredentials() };
}

export interface EnsureTableOptions {
  tableName: string;
  /** Name of the string (S) partition key attribute. */
  partitionKey: string;
  /** Give up waiting for ACTIVE after this long; default 60 s. */
  timeoutMs?: number;
  /** Default 100 ms. */
  pollIntervalMs?: number;
}

/**
 * Creates an on-demand table with a string partition key unless it exists, then waits until it
 * is ACTIVE. An existing table is left as it is, whatever its key schema.
 */
export async function ensureTable(client: DynamoDBClient, options: EnsureTableOptions): Promise<void> {
  if ((await describeTableStatus(client, options.tableName)) === undefined) {
    await createTable(client, options);
  }
  await waitUntilActive(client, options);
}

async function describeTableStatus(client: DynamoDBClient, tableName: string): Promise<string | undefined> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return Table?.TableStatus ?? 'UNKNOWN';
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

async function createTable(client: DynamoDBClient, options: EnsureTableOptions): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: options.tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: options.partitionKey, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: options.partitionKey, KeyType: 'HASH' }],
      }),
    );
  } catch (error) {
    // Someone else created it between our describe and create: fine, wait for it.
    if (!(error instanceof ResourceInUseException)) throw error;
  }
}

async function waitUntilActive(client: DynamoDBClient, options: EnsureTableOptions): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (;;) {
    const status = await describeTableStatus(client, options.tableName);
    if (status === 'ACTIVE') return;
    if (Date.now() >= deadline) {
      throw new Error(`Table ${options.tableName} is not ACTIVE (status: ${status ?? 'missing'})`);
    }
    await sleep(options.pollIntervalMs ?? 100);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
