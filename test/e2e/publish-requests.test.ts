import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { makePublishRequestsHandler } from '../../functions/publish-requests.js';
import { createEventBridgeClient } from '../../lib/aws-clients/eventbridge.js';
import { localEventBridgeClientConfig } from '../../local/aws/eventbridge.js';
import { LOCAL_PRINCIPAL_ID } from '../../local/aws/s3.js';
import type { LocalPipeline } from '../../local/pipeline.js';
import {
  EXPENDITURE,
  outcomeOf,
  POPULATION,
  POPULATION_CSV,
  REQUEST_SOURCE,
  startFastPipeline,
} from './support.js';

let pipeline: LocalPipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

async function api(p: LocalPipeline, method: string, path: string, body?: unknown) {
  const response = await fetch(`${p.httpApi.endpoint}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('the dataset HTTP API', () => {
  it('hands out a presigned upload link into the drop bucket; a file PUT there is published', async () => {
    pipeline = await startFastPipeline();
    const { status, body } = await api(pipeline, 'POST', `/datasets/${POPULATION.alias}/uploads`, {
      mode: 'replace',
      name: 'from-a-laptop.csv',
    });
    expect(status).toBe(201);
    expect(body).toMatchObject({
      method: 'PUT',
      key: `incoming/${POPULATION.alias}/replace/from-a-laptop.csv`,
    });
    const put = await fetch(String(body.url), {
      method: 'PUT',
      headers: body.headers as Record<string, string>,
      body: POPULATION_CSV,
    });
    expect(put.status).toBe(200);
    await pipeline.whenIdle();
    expect((await outcomeOf(pipeline, String(body.key))).outcome).toBe('published');
  });

  it('publishes an object already in the bucket, copying it into the dataset’s incoming folder', async () => {
    pipeline = await startFastPipeline();
    await pipeline.s3.send(
      new PutObjectCommand({
        Bucket: pipeline.bucket,
        Key: `sources/${POPULATION.id}/nightly/population.csv`,
        Body: POPULATION_CSV,
      }),
    );
    const { status, body } = await api(pipeline, 'POST', `/datasets/${POPULATION.id}/uploads`, {
      key: `sources/${POPULATION.id}/nightly/population.csv`,
      mode: 'append',
    });
    expect(status).toBe(202);
    expect(body.key).toBe(`incoming/${POPULATION.id}/append/population.csv`);
    await pipeline.whenIdle();
    expect((await outcomeOf(pipeline, String(body.key))).outcome).toBe('published');
  });

  it("answers the same for an object it may not publish as for no object: nothing of other datasets' files is told", async () => {
    pipeline = await startFastPipeline();
    const present = [
      'exports/payroll.csv',
      `sources/${EXPENDITURE.id}/theirs.csv`,
      `sources/${POPULATION.id}/../${EXPENDITURE.id}/theirs.csv`,
      `incoming/${EXPENDITURE.alias}/replace/theirs.csv`,
    ];
    for (const Key of present) {
      await pipeline.s3.send(new PutObjectCommand({ Bucket: pipeline.bucket, Key, Body: POPULATION_CSV }));
    }
    const absent = [
      'exports/none.csv',
      `sources/${POPULATION.id}/none.csv`,
      `incoming/${POPULATION.alias}/replace/none.csv`,
    ];
    const answers = await Promise.all(
      [...present, ...absent].map(async (key) => {
        const { status, body } = await api(
          pipeline as LocalPipeline,
          'POST',
          `/datasets/${POPULATION.alias}/uploads`,
          {
            key,
            mode: 'replace',
          },
        );
        return { status, code: body.code, message: String(body.message).replace(key, '<key>') };
      }),
    );
    expect(new Set(answers.map((answer) => JSON.stringify(answer))).size, JSON.stringify(answers)).toBe(1);
    expect(answers[0]).toEqual({
      status: 400,
      code: 'KEY_LAYOUT',
      message: `There is no object <key> that ${POPULATION.alias} may publish: from outside incoming/, only objects under sources/<dataset>/ are published.`,
    });
    await pipeline.whenIdle();
    expect(await pipeline.keys(`incoming/${POPULATION.alias}/`)).toEqual([]);
    expect(await pipeline.keys(`incoming/${POPULATION.id}/`)).toEqual([]);
  });

  it("names who asked and who put the file in the report: the HTTP caller's IAM ARN (signed into the link), an event's sender, the S3 principal", async () => {
    pipeline = await startFastPipeline();
    const callerArn = 'arn:aws:iam::123456789012:role/agency-uploader';
    const handler = makePublishRequestsHandler(() => (pipeline as LocalPipeline).publishRequestsDeps);
    const link = (await handler({
      version: '2.0',
      routeKey: 'POST /datasets/{dataset}/uploads',
      rawPath: `/datasets/${POPULATION.alias}/uploads`,
      rawQueryString: '',
      headers: { 'content-type': 'application/json' },
      pathParameters: { dataset: POPULATION.alias },
      requestContext: {
        http: { method: 'POST' },
        requestId: 'r-2',
        authorizer: { iam: { userArn: callerArn } },
      },
      body: JSON.stringify({ mode: 'replace', name: 'by-role.csv' }),
      isBase64Encoded: false,
    })) as { statusCode: number; body: string };
    expect(link.statusCode).toBe(201);
    const { url, headers } = JSON.parse(link.body) as { url: string; headers: Record<string, string> };
    expect(headers).toMatchObject({ 'x-amz-meta-requested-by': callerArn });
    // Signed as a header, so that S3 refuses a PUT without it (s3rver does not check signed headers).
    expect(new URL(url).searchParams.get('X-Amz-SignedHeaders')?.split(';')).toContain(
      'x-amz-meta-requested-by',
    );
    const put = await fetch(url, { method: 'PUT', headers, body: POPULATION_CSV });
    expect(put.status).toBe(200);
    await pipeline.whenIdle();
    expect(await outcomeOf(pipeline, `incoming/${POPULATION.alias}/replace/by-role.csv`)).toMatchObject({
      outcome: 'published',
      requestedBy: callerArn,
      // The link's PUT: in AWS the principal of the function role that signed it, locally the one identity.
      droppedBy: LOCAL_PRINCIPAL_ID,
      reportVersion: 5,
    });

    await pipeline.s3.send(
      new PutObjectCommand({
        Bucket: pipeline.bucket,
        Key: `sources/${POPULATION.alias}/by-event.csv`,
        Body: POPULATION_CSV,
      }),
    );
    await createEventBridgeClient(localEventBridgeClientConfig(pipeline.eventBridge.endpoint)).send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: pipeline.settings.EVENT_BUS_NAME,
            Source: REQUEST_SOURCE,
            DetailType: 'Publish Dataset Requested',
            Detail: JSON.stringify({
              bucket: pipeline.bucket,
              key: `sources/${POPULATION.alias}/by-event.csv`,
              dataset: POPULATION.alias,
              mode: 'append',
            }),
          },
        ],
      }),
    );
    await pipeline.whenIdle();
    const byEvent = await outcomeOf(pipeline, `incoming/${POPULATION.alias}/append/by-event.csv`);
    expect(byEvent).toMatchObject({ outcome: 'published' });
    expect(byEvent.requestedBy).toMatch(/^events:govpub\.requests /);
    // The copy into incoming/ was put by the publish-requests function.
    expect(byEvent.droppedBy).toBe(LOCAL_PRINCIPAL_ID);
    // A plain drop names no requester; droppedBy is the putter's principal (here the local one).
    await pipeline.drop(`incoming/${POPULATION.alias}/append/plain.csv`, POPULATION_CSV);
    await pipeline.whenIdle();
    expect(await outcomeOf(pipeline, `incoming/${POPULATION.alias}/append/plain.csv`)).toMatchObject({
      requestedBy: null,
      droppedBy: LOCAL_PRINCIPAL_ID,
    });
  });

  it('answers 4xx with a message for a bad request, and never leaks internals', async () => {
    pipeline = await startFastPipeline();
    expect((await api(pipeline, 'POST', '/datasets/no-such-alias/uploads', { mode: 'replace' })).status).toBe(
      404,
    );
    expect(
      (await api(pipeline, 'POST', `/datasets/${POPULATION.alias}/uploads`, { mode: 'upsert' })).status,
    ).toBe(400);
    const traversal = await api(pipeline, 'POST', `/datasets/${POPULATION.alias}/uploads`, {
      mode: 'replace',
      name: '../x.csv',
    });
    expect(traversal.status).toBe(400);
    const missing = await api(pipeline, 'POST', `/datasets/${POPULATION.alias}/uploads`, {
      key: 'exports/none.csv',
      mode: 'replace',
    });
    expect(missing).toMatchObject({ status: 400, body: { message: expect.stringMatching(/no object/) } });
  });

  it('describes a dataset: waiting files, the one in flight, the last outcome, data.gov.sg’s status', async () => {
    pipeline = await startFastPipeline({ deliverEvents: false });
    await pipeline.drop(`incoming/${POPULATION.alias}/replace/a.csv`, POPULATION_CSV);
    const before = await api(pipeline, 'GET', `/datasets/${POPULATION.alias}`);
    expect(before.body).toMatchObject({
      datasetId: POPULATION.id,
      waiting: [expect.objectContaining({ key: `incoming/${POPULATION.alias}/replace/a.csv` })],
      inFlight: null,
      lastOutcome: null,
      dataGovSg: { status: 'NA' },
    });
    await pipeline.redeliver(`incoming/${POPULATION.alias}/replace/a.csv`);
    await pipeline.whenIdle();
    const after = await api(pipeline, 'GET', `/datasets/${POPULATION.alias}`);
    expect(after.body).toMatchObject({
      waiting: [],
      inFlight: null,
      lastOutcome: { outcome: 'published', sourceKey: `incoming/${POPULATION.alias}/replace/a.csv` },
      dataGovSg: { status: 'INGESTION_SUCCESS' },
    });
  });
});

describe('the local run against a real data.gov.sg', () => {
  it("does not know the stand-in's sample aliases, which could name a real dataset there", async () => {
    pipeline = await startFastPipeline({
      // Never reached: the alias is refused before any call.
      env: {
        DGS_API_BASE_URL: 'https://api-staging.data.gov.sg',
        DGS_API_KEY: 'staging-key-never-sent-3e1f',
      },
    });
    const byAlias = await api(pipeline, 'GET', `/datasets/${POPULATION.alias}`);
    expect(byAlias.status).toBe(404);
    expect(byAlias.body.message).toMatch(/neither a datasetId .* nor a known alias/);
  });
});

describe('the Publish Dataset Requested event', () => {
  async function request(p: LocalPipeline, detail: Record<string, unknown>) {
    await createEventBridgeClient(localEventBridgeClientConfig(p.eventBridge.endpoint)).send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: p.settings.EVENT_BUS_NAME,
            Source: REQUEST_SOURCE,
            DetailType: 'Publish Dataset Requested',
            Detail: JSON.stringify(detail),
          },
        ],
      }),
    );
    await p.whenIdle();
  }

  it('starts the same pipeline for an object of the drop bucket', async () => {
    pipeline = await startFastPipeline();
    await pipeline.s3.send(
      new PutObjectCommand({
        Bucket: pipeline.bucket,
        Key: `sources/${POPULATION.alias}/etl/out.csv`,
        Body: POPULATION_CSV,
      }),
    );
    await request(pipeline, {
      bucket: pipeline.bucket,
      key: `sources/${POPULATION.alias}/etl/out.csv`,
      dataset: POPULATION.alias,
      mode: 'replace',
    });
    expect((await outcomeOf(pipeline, `incoming/${POPULATION.alias}/replace/out.csv`)).outcome).toBe(
      'published',
    );
  });

  it('answers a request it cannot meet with a Dataset Publish Failed event', async () => {
    pipeline = await startFastPipeline();
    await request(pipeline, {
      bucket: 'someone-elses-bucket',
      key: 'x.csv',
      dataset: POPULATION.alias,
      mode: 'replace',
    });
    const failed = pipeline.eventBridge
      .events()
      .find((event) => event.detailType === 'Dataset Publish Failed');
    expect(failed?.detail).toMatchObject({
      error: { code: 'KEY_LAYOUT', message: expect.stringMatching(/drop bucket/) },
    });
  });
});
