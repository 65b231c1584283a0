import {
  ConditionalCheckFailedException,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureTable,
  type LocalDynamoDb,
  localDynamoClientConfig,
  startLocalDynamoDb,
} from '../../../local/aws/dynamodb.js';

const TABLE = 'publish-ledger';

describe('startLocalDynamoDb', () => {
  let dynamo: LocalDynamoDb;
  let client: DynamoDBClient;

  beforeAll(async () => {
    dynamo = await startLocalDynamoDb();
    client = new DynamoDBClient(localDynamoClientConfig(dynamo.endpoint));
  });

  afterAll(async () => {
    client.destroy();
    await dynamo.close();
  });

  it('listens on 127.0.0.1 only', () => {
    expect(dynamo.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('creates an ACTIVE on-demand table with a string partition key when it is missing', async () => {
    await ensureTable(client, { tableName: TABLE, partitionKey: 'pk' });

    const { Table } = await client.send(new DescribeTableCommand({ TableName: TABLE }));
    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(Table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    expect(Table?.AttributeDefinitions).toEqual([{ AttributeName: 'pk', AttributeType: 'S' }]);
  });

  it('leaves the table alone when it already exists', async () => {
    await ensureTable(client, { tableName: TABLE, partitionKey: 'pk' });

    await expect(ensureTable(client, { tableName: TABLE, partitionKey: 'pk' })).resolves.toBeUndefined();
  });

  it('rejects a second attribute_not_exists put with ConditionalCheckFailedException', async () => {
    await ensureTable(client, { tableName: TABLE, partitionKey: 'pk' });
    const put = (attempt: string) =>
      client.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { pk: { S: 'drop#1' }, attempt: { S: attempt } },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );

    await put('first');
    await expect(put('second')).rejects.toBeInstanceOf(ConditionalCheckFailedException);

    const { Item } = await client.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'drop#1' } } }),
    );
    expect(Item?.attempt).toEqual({ S: 'first' });
  });
});
