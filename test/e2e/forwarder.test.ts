import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterEach, describe, expect, it } from 'vitest';
import { makeForwarderHandler } from '../../functions/forward-performance.js';
import { createEventBridgeClient } from '../../lib/aws-clients/eventbridge.js';
import type { ForwardFileReport } from '../../lib/performance-platform/forward-file.js';
import { localEventBridgeClientConfig } from '../../local/aws/eventbridge.js';
import { LOCAL_PRINCIPAL_ID } from '../../local/aws/s3.js';
import type { LocalPipeline } from '../../local/pipeline.js';
import { filedAt, REQUEST_SOURCE, startFastPipeline } from './support.js';

/** The details of the "Performance Data Set Emptied" events sent so far. */
function emptiedEvents(p: LocalPipeline): unknown[] {
  return p.eventBridge
    .events()
    .filter((event) => event.detailType === 'Performance Data Set Emptied')
    .map((event) => event.detail);
}

const GROUP = 'carers-allowance';
const TYPE = 'transaction-count';
const PATH = `/performance/${GROUP}/${TYPE}`;

let pipeline: LocalPipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

function records(count: number, from = 0) {
  return Array.from({ length: count }, (_, i) => ({
    _timestamp: `2024-01-${String(((from + i) % 28) + 1).padStart(2, '0')}T00:00:00Z`,
    channel: `channel_${from + i}`,
    count: from + i,
  }));
}

async function call(
  p: LocalPipeline,
  method: string,
  path: string,
  body: unknown,
  contentType = 'application/json',
) {
  const response = await fetch(`${p.httpApi.endpoint}${path}`, {
    method,
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function writes(p: LocalPipeline) {
  return p.performancePlatform?.requests().filter((request) => request.method === 'POST') ?? [];
}

describe('the forwarder over HTTP', () => {
  it('forwards records in chunks of 100, gzipped when large, and answers with what was stored', async () => {
    pipeline = await startFastPipeline();
    const sent = records(250);
    const { status, body } = await call(pipeline, 'POST', PATH, sent);
    expect(status).toBe(200);
    expect(body).toMatchObject({ outcome: 'forwarded', records: 250 });
    expect((body.chunks as unknown[]).map((c) => (c as { from: number; to: number }).to)).toEqual([
      100, 200, 250,
    ]);
    // Chunks are sent several at a time, so the write API may log them in any order.
    expect(
      writes(pipeline)
        .map((r) => [r.records, r.gzip])
        .sort(([a], [b]) => Number(b) - Number(a)),
    ).toEqual([
      [100, true],
      [100, true],
      [50, true],
    ]);
    expect(new Set(writes(pipeline).map((r) => r.requestId)).size).toBe(3);
    expect(await pipeline.performancePlatform?.records(GROUP, TYPE)).toHaveLength(250);
  });

  it('never duplicates records sent twice (deterministic ids)', async () => {
    pipeline = await startFastPipeline();
    await call(pipeline, 'POST', PATH, records(30));
    await call(pipeline, 'POST', PATH, records(30));
    expect(await pipeline.performancePlatform?.records(GROUP, TYPE)).toHaveLength(30);
  });

  it('reports every invalid record by index and sends nothing', async () => {
    pipeline = await startFastPipeline();
    const bad = [
      { _timestamp: '2024-01-01T00:00:00Z', count: 1 },
      { count: 2 },
      { _timestamp: '2024-02-30T00:00:00Z', count: 3 },
      { _timestamp: '2024-01-01T00:00:00Z', 'bad key': 4 },
      { _timestamp: '2024-01-01T00:00:00Z', _secret: 5 },
      { _timestamp: '2024-01-01T00:00:00Z', nested: { a: 1 } },
    ];
    const { status, body } = await call(pipeline, 'POST', PATH, bad);
    expect(status).toBe(400);
    // One plain-English problem per record and field, in record order, backdrop's text beside it.
    expect(body).toEqual({
      message: '5 problems in 5 of 6 records; nothing was sent.',
      errorCount: 5,
      recordsWithProblems: 5,
      errors: [
        {
          index: 1,
          field: '_timestamp',
          code: 'REQUIRED',
          message: '_timestamp is missing',
          backdropMessage: "u'_timestamp' is a required property",
        },
        {
          index: 2,
          field: '_timestamp',
          code: 'IMPOSSIBLE_DATE_TIME',
          message:
            '_timestamp "2024-02-30T00:00:00Z" is a date and time that does not exist (check the day, month, time and offset)',
          backdropMessage: '2024-02-30T00:00:00Z in the _timestamp field is not a valid date',
        },
        expect.objectContaining({
          index: 3,
          field: 'bad key',
          backdropMessage: 'bad key is not a valid key',
        }),
        expect.objectContaining({
          index: 4,
          field: '_secret',
          backdropMessage: '_secret is not a recognised internal field',
        }),
        expect.objectContaining({
          index: 5,
          field: 'nested',
          backdropMessage: 'nested has an invalid value',
        }),
      ],
    });
    expect(writes(pipeline)).toEqual([]);
  });

  it('empties a data set only on an explicit PUT []', async () => {
    pipeline = await startFastPipeline();
    await call(pipeline, 'POST', PATH, records(5));
    expect((await call(pipeline, 'PUT', PATH, [{ a: 1 }])).status).toBe(400);
    expect(await pipeline.performancePlatform?.records(GROUP, TYPE)).toHaveLength(5);
    expect(await call(pipeline, 'PUT', PATH, [])).toMatchObject({ status: 200 });
    expect(await pipeline.performancePlatform?.records(GROUP, TYPE)).toHaveLength(0);
    // Locally there is no IAM caller; in AWS the route's IAM authorizer names one.
    expect(emptiedEvents(pipeline)).toEqual([
      expect.objectContaining({ dataGroup: GROUP, dataType: TYPE, requestedBy: null }),
    ]);
  });

  it('announces who emptied a data set: the caller IAM authorised', async () => {
    pipeline = await startFastPipeline();
    const handler = makeForwarderHandler(() => (pipeline as LocalPipeline).forwarderHttpDeps);
    const callerArn = 'arn:aws:iam::123456789012:role/agency-etl';
    const answer = (await handler({
      version: '2.0',
      routeKey: `PUT /performance/{dataGroup}/{dataType}`,
      rawPath: PATH,
      rawQueryString: '',
      headers: { 'content-type': 'application/json' },
      pathParameters: { dataGroup: GROUP, dataType: TYPE },
      requestContext: {
        http: { method: 'PUT' },
        requestId: 'r-1',
        authorizer: { iam: { userArn: callerArn } },
      },
      body: '[]',
      isBase64Encoded: false,
    })) as { statusCode: number };
    expect(answer.statusCode).toBe(200);
    expect(emptiedEvents(pipeline)).toEqual([
      expect.objectContaining({ dataGroup: GROUP, dataType: TYPE, requestedBy: callerArn }),
    ]);
  });

  it('names the caller and the putter in the report of records an HTTP request queued as a file', async () => {
    // Prepare
    pipeline = await startFastPipeline({ env: { PP_HTTP_SYNC_MAX_RECORDS: '2' } });
    const handler = makeForwarderHandler(() => (pipeline as LocalPipeline).forwarderHttpDeps);
    const callerArn = 'arn:aws:iam::123456789012:role/agency-etl';
    // Act
    const answer = (await handler({
      version: '2.0',
      routeKey: `POST /performance/{dataGroup}/{dataType}`,
      rawPath: PATH,
      rawQueryString: '',
      headers: { 'content-type': 'application/json' },
      pathParameters: { dataGroup: GROUP, dataType: TYPE },
      requestContext: {
        http: { method: 'POST' },
        requestId: 'r-3',
        authorizer: { iam: { userArn: callerArn } },
      },
      body: JSON.stringify(records(5)),
      isBase64Encoded: false,
    })) as { statusCode: number; body: string };
    await pipeline.whenIdle();
    // Assess
    expect(answer.statusCode).toBe(202);
    const { key } = JSON.parse(answer.body) as { key: string };
    const report = (await pipeline.outcomes(key)).at(-1) as unknown as ForwardFileReport;
    // In AWS the putter is the forwarder's role session; locally, the one identity.
    expect(report).toMatchObject({
      outcome: 'forwarded',
      requestedBy: callerArn,
      droppedBy: LOCAL_PRINCIPAL_ID,
    });
  });

  it('answers clearly for a wrong content type, bad JSON, a bad path and an unknown data set', async () => {
    pipeline = await startFastPipeline();
    expect((await call(pipeline, 'POST', PATH, records(1), 'text/plain')).status).toBe(415);
    expect((await call(pipeline, 'POST', PATH, '{not json')).status).toBe(400);
    expect((await call(pipeline, 'POST', '/performance/Bad_Group/x', records(1))).status).toBe(400);
    const unknown = await call(pipeline, 'POST', '/performance/no-such/data-set', records(1));
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toMatch(/no-such\/data-set/);
  });

  it('retries 5xx and stores once; never retries a refused token', async () => {
    pipeline = await startFastPipeline();
    pipeline.performancePlatform?.fault({ method: 'POST', status: 503, times: 2 });
    expect((await call(pipeline, 'POST', PATH, records(3))).status).toBe(200);
    expect(writes(pipeline).map((r) => r.status)).toEqual([503, 503, 200]);
    await pipeline.close();

    pipeline = await startFastPipeline({
      env: { PP_TOKEN: 'wrong-token-of-the-caller' },
      ppDataSets: [{ dataGroup: GROUP, dataType: TYPE, bearerToken: 'right-token-of-the-data-set' }],
    });
    const refused = await call(pipeline, 'POST', PATH, records(3));
    expect(refused.status).toBe(502);
    expect(writes(pipeline)).toHaveLength(1);
    expect(JSON.stringify(refused.body)).not.toContain('wrong-token-of-the-caller');
  });

  it('reports a partial failure exactly, and a re-run completes it without duplicates', async () => {
    // One chunk at a time: the scripted faults are taken in the order requests arrive.
    pipeline = await startFastPipeline({ env: { PP_MAX_ATTEMPTS: '2', PP_CONCURRENCY: '1' } });
    const sent = records(250);
    // The first chunk is stored but its answer lost; the second fails for good.
    pipeline.performancePlatform?.fault({ method: 'POST', dropAfterStore: true, times: 1 });
    pipeline.performancePlatform?.fault({ method: 'POST', status: 200, times: 1 });
    pipeline.performancePlatform?.fault({ method: 'POST', status: 500, times: 2 });
    const first = await call(pipeline, 'POST', PATH, sent);
    expect(first.status).toBe(503);
    expect((first.body.chunks as Array<{ status: string }>).map((c) => c.status)).toEqual([
      'stored',
      'failed',
      'not-sent',
    ]);
    const again = await call(pipeline, 'POST', PATH, sent);
    expect(again.status).toBe(200);
    expect(await pipeline.performancePlatform?.records(GROUP, TYPE)).toHaveLength(250);
  });

  it('stores the last value sent for an id that recurs across chunks sent several at a time', async () => {
    // Prepare: chunks of 10, 4 in flight; ids recur in every chunk with a new count each time.
    pipeline = await startFastPipeline({ env: { PP_CONCURRENCY: '4', PP_CHUNK_SIZE: '10' } });
    const sent = Array.from({ length: 120 }, (_, i) => ({
      _id: `shared-${i % 13}`,
      _timestamp: '2024-01-01T00:00:00Z',
      count: i,
    }));
    // The first request is slow, so a later chunk holding its ids would overtake it if allowed.
    pipeline.performancePlatform?.fault({ method: 'POST', delayMs: 150, times: 1 });

    // Act
    const { status, body } = await call(pipeline, 'POST', PATH, sent);

    // Assess
    expect(status).toBe(200);
    expect(body).toMatchObject({ outcome: 'forwarded', records: 120 });
    expect(writes(pipeline)).toHaveLength(12);
    const stored = (await pipeline.performancePlatform?.records(GROUP, TYPE)) ?? [];
    const last = new Map(sent.map((record) => [record._id, record.count]));
    expect(new Map(stored.map((record) => [record._id, record.count]))).toEqual(last);
  });
});

describe('the forwarder from EventBridge and the drop bucket', () => {
  it('forwards a Performance Records Submitted event and announces the outcome', async () => {
    pipeline = await startFastPipeline();
    await createEventBridgeClient(localEventBridgeClientConfig(pipeline.eventBridge.endpoint)).send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: pipeline.settings.EVENT_BUS_NAME,
            Source: REQUEST_SOURCE,
            DetailType: 'Performance Records Submitted',
            Detail: JSON.stringify({ dataGroup: GROUP, dataType: TYPE, records: records(7) }),
          },
        ],
      }),
    );
    await pipeline.whenIdle();
    expect(await pipeline.performancePlatform?.records(GROUP, TYPE)).toHaveLength(7);
    const outcome = pipeline.eventBridge
      .events()
      .find((e) => e.detailType === 'Performance Records Forwarded');
    expect(outcome?.detail).toMatchObject({ outcome: 'forwarded', records: 7 });
  });

  it('forwards an NDJSON file dropped under incoming/performance/ and files its report', async () => {
    pipeline = await startFastPipeline();
    const key = `incoming/performance/${GROUP}/${TYPE}/daily.ndjson`;
    await pipeline.drop(
      key,
      `${records(1_000)
        .map((r) => JSON.stringify(r))
        .join('\n')}\n`,
    );
    await pipeline.whenIdle();
    const report = (await pipeline.outcomes(key)).at(-1) as unknown as ForwardFileReport;
    expect(report).toMatchObject({
      reportVersion: 2,
      outcome: 'forwarded',
      result: { records: 1_000 },
      droppedBy: LOCAL_PRINCIPAL_ID,
      requestedBy: null,
      notes: [],
    });
    const event = pipeline.eventBridge.events().find((e) => e.detailType === 'Performance Records Forwarded');
    expect(event?.detail).toEqual(report);
    expect(report.fileKey).toMatch(filedAt(key, 'processed'));
    expect(report.result?.chunks).toHaveLength(10);
    expect(await pipeline.performancePlatform?.records(GROUP, TYPE)).toHaveLength(1_000);
    expect(await pipeline.keys('incoming/')).toEqual([]);
  });

  it('files a JSON file with invalid records in failed/ with every error, sending nothing', async () => {
    pipeline = await startFastPipeline();
    const key = `incoming/performance/${GROUP}/${TYPE}/bad.json`;
    await pipeline.drop(key, JSON.stringify([...records(3), { count: 'no timestamp' }]));
    await pipeline.whenIdle();
    const report = (await pipeline.outcomes(key)).at(-1) as unknown as {
      error: { code: string; message: string };
      result: { errors: Array<Record<string, unknown>> };
    };
    expect(report.error.code).toBe('PP_INVALID_RECORDS');
    expect(report.error.message).toMatch(
      /^1 problem in 1 of 4 records, so nothing was sent .*: record 3: _timestamp is missing\. /,
    );
    expect(report.result.errors).toEqual([
      {
        index: 3,
        field: '_timestamp',
        code: 'REQUIRED',
        message: '_timestamp is missing',
        backdropMessage: "u'_timestamp' is a required property",
      },
    ]);
    expect(writes(pipeline)).toEqual([]);
  });

  it('forwards a performance file whose event was lost once the sweep finds it', async () => {
    pipeline = await startFastPipeline({ deliverEvents: false, env: { SWEEP_MIN_AGE_SECONDS: '0' } });
    const key = `incoming/performance/${GROUP}/${TYPE}/late.json`;
    await pipeline.drop(key, JSON.stringify(records(4)));
    await pipeline.sweep();
    await pipeline.whenIdle();
    const report = (await pipeline.outcomes(key)).at(-1) as unknown as ForwardFileReport;
    expect(report).toMatchObject({ outcome: 'forwarded', droppedBy: null });
    expect(report.notes).toEqual([expect.stringMatching(/droppedBy is null.*S3 server access logs/)]);
    expect(await pipeline.performancePlatform?.records(GROUP, TYPE)).toHaveLength(4);
  });

  it('files a file that is not JSON in failed/', async () => {
    pipeline = await startFastPipeline();
    const key = `incoming/performance/${GROUP}/${TYPE}/data.csv`;
    await pipeline.drop(key, 'a,b\n');
    await pipeline.whenIdle();
    const report = (await pipeline.outcomes(key)).at(-1) as unknown as {
      error: { code: string };
    };
    expect(report.error.code).toBe('NOT_JSON');
  });
});
