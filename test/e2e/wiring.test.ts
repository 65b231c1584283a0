import { PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { afterEach, describe, expect, it } from 'vitest';
import { createEventBridgeClient } from '../../lib/aws-clients/eventbridge.js';
import { localEventBridgeClientConfig } from '../../local/aws/eventbridge.js';
import { INTEGRATION_TIMEOUT_ANSWER } from '../../local/aws/http-api.js';
import { localTemplate } from '../../local/aws/template.js';
import { FUNCTION_FAILED_ANSWER, type LocalPipeline } from '../../local/pipeline.js';
import { filedAt, POPULATION, POPULATION_CSV, REQUEST_SOURCE, startFastPipeline } from './support.js';

/*
 * The local run is wired from the packaged template (local/wiring.ts): what serverless.yml says
 * about routes, rules, patterns, topics and time limits is what runs here.
 */

let pipeline: LocalPipeline | undefined;
afterEach(async () => {
  await pipeline?.close();
  pipeline = undefined;
});

const TOPIC = 'arn:aws:sns:ap-southeast-1:000000000000:govpub-local-notifications';
const PP_PATH = '/performance/carers-allowance/transaction-count';

/** Puts one entry as a person or another system would (not as one of govpub's functions). */
async function putEvent(p: LocalPipeline, entry: PutEventsRequestEntry): Promise<string | undefined> {
  const output = await createEventBridgeClient(localEventBridgeClientConfig(p.eventBridge.endpoint)).send(
    new PutEventsCommand({ Entries: [entry] }),
  );
  return output.Entries?.[0]?.ErrorCode;
}

function publishRequest(
  p: LocalPipeline,
  overrides: Partial<PutEventsRequestEntry> = {},
): PutEventsRequestEntry {
  return {
    EventBusName: p.settings.EVENT_BUS_NAME,
    Source: REQUEST_SOURCE,
    DetailType: 'Publish Dataset Requested',
    Detail: JSON.stringify({
      bucket: p.bucket,
      key: `incoming/${POPULATION.alias}/replace/by-event.csv`,
    }),
    ...overrides,
  };
}

const invocationsOf = (p: LocalPipeline, functionName: string) =>
  p.lambda.invocations().filter((invocation) => invocation.functionName === functionName);

describe('notifications', () => {
  it('tells the topic of a failed publication: dataset, file, code, message and where the report is', async () => {
    pipeline = await startFastPipeline();
    const key = `incoming/${POPULATION.alias}/replace/broken.csv`;
    await pipeline.drop(key, 'year,sex,population\n2023,female\n');
    await pipeline.whenIdle();
    const [failedKey] = await pipeline.keys('failed/');
    expect(failedKey).toMatch(filedAt(key, 'failed'));
    const report = await pipeline.report(failedKey ?? '');
    const messages = pipeline.sns.messages();
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ topicArn: TOPIC, from: 'NotifyPublishProblemsRule' });
    const text = JSON.parse(messages[0]?.message ?? '""') as string;
    expect(text).toBe(
      `Dataset Publish Failed: dataset ${POPULATION.id}, file ${key}. ${report?.error?.code}: ${report?.error?.message} Report: ${failedKey}.report.json`,
    );
    expect(report?.error?.code).toMatch(/^CSV_/);
    // The first problem is in the message, so the e-mail says what to fix.
    expect(text).toMatch(/The first: .+/);
  });

  it('tells the topic of records it could not forward, with the first problem', async () => {
    pipeline = await startFastPipeline();
    expect(
      await putEvent(pipeline, {
        EventBusName: pipeline.settings.EVENT_BUS_NAME,
        Source: REQUEST_SOURCE,
        DetailType: 'Performance Records Submitted',
        Detail: JSON.stringify({
          dataGroup: 'carers-allowance',
          dataType: 'transaction-count',
          records: [{ channel: 'digital', count: 1 }],
        }),
      }),
    ).toBeUndefined();
    await pipeline.whenIdle();
    const [message] = pipeline.sns.messages();
    expect(message?.from).toBe('NotifyForwardProblemsRule');
    const text = JSON.parse(message?.message ?? '""') as string;
    expect(text).toMatch(
      /^Performance Records Forward Failed: carers-allowance\/transaction-count, invalid\. /,
    );
    expect(text).toMatch(/First problem: .*_timestamp/);
  });

  it('tells of successes only when the stage asks (NotifySuccesses)', async () => {
    pipeline = await startFastPipeline();
    await pipeline.drop(`incoming/${POPULATION.alias}/replace/good.csv`, POPULATION_CSV);
    await pipeline.whenIdle();
    expect(await pipeline.keys('processed/')).toHaveLength(2);
    expect(pipeline.sns.messages()).toEqual([]);
    await pipeline.close();

    pipeline = await startFastPipeline({ parameters: { NotifySuccesses: 'true' } });
    await pipeline.drop(`incoming/${POPULATION.alias}/replace/good.csv`, POPULATION_CSV);
    await pipeline.whenIdle();
    const [message] = pipeline.sns.messages();
    expect(message?.from).toBe('NotifySuccessesRule');
    expect(JSON.parse(message?.message ?? '""')).toMatch(
      new RegExp(
        `^Dataset Publish Succeeded: incoming/${POPULATION.alias}/replace/good\\.csv\\. Report: processed/`,
      ),
    );
  });
});

describe("requests on govpub's bus", () => {
  it("refuses a source it does not list, and govpub's own from anyone but its functions; hears a listed one on its bus", async () => {
    pipeline = await startFastPipeline();
    await pipeline.drop(`incoming/${POPULATION.alias}/replace/by-event.csv`, POPULATION_CSV);
    await pipeline.whenIdle();
    const before = invocationsOf(pipeline, 'publishRequests').length;
    // The bus's policy refuses a source it does not list, and govpub's own from anyone else.
    expect(await putEvent(pipeline, publishRequest(pipeline, { Source: 'agency.etl' }))).toBe(
      'NotAuthorizedForSourceException',
    );
    expect(await putEvent(pipeline, publishRequest(pipeline, { Source: 'govpub' }))).toBe(
      'NotAuthorizedForSourceException',
    );
    // The account's default bus takes it, but no govpub rule is there.
    expect(await putEvent(pipeline, publishRequest(pipeline, { EventBusName: 'default' }))).toBeUndefined();
    expect(
      await putEvent(pipeline, { ...publishRequest(pipeline), EventBusName: undefined }),
    ).toBeUndefined();
    await pipeline.whenIdle();
    expect(invocationsOf(pipeline, 'publishRequests')).toHaveLength(before);
    // The listed source on govpub's bus: heard.
    expect(await putEvent(pipeline, publishRequest(pipeline))).toBeUndefined();
    await pipeline.whenIdle();
    expect(invocationsOf(pipeline, 'publishRequests')).toHaveLength(before + 1);
  });

  it('takes the sources the stage lists (RequestSources) instead', async () => {
    pipeline = await startFastPipeline({ parameters: { RequestSources: 'agency.etl,agency.crm' } });
    expect(await putEvent(pipeline, publishRequest(pipeline))).toBe('NotAuthorizedForSourceException');
    expect(await putEvent(pipeline, publishRequest(pipeline, { Source: 'agency.crm' }))).toBeUndefined();
    await pipeline.whenIdle();
    expect(
      invocationsOf(pipeline, 'publishRequests').map((i) => (i.event as { source: string }).source),
    ).toEqual(['agency.crm']);
  });
});

describe('the template is the wiring', () => {
  it('runs what a changed template says: a rule pattern and a route', async () => {
    const template = structuredClone(await localTemplate());
    const rule = template.Resources.PublishRequestsRule?.Properties as {
      EventPattern: Record<string, unknown>;
    };
    rule.EventPattern['detail-type'] = ['Publish Please'];
    const route = Object.entries(template.Resources).find(
      ([, r]) =>
        r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties?.RouteKey === 'GET /datasets/{dataset}',
    );
    delete template.Resources[route?.[0] ?? ''];
    pipeline = await startFastPipeline({ template });

    expect(await putEvent(pipeline, publishRequest(pipeline))).toBeUndefined();
    await pipeline.whenIdle();
    expect(invocationsOf(pipeline, 'publishRequests')).toHaveLength(0);
    expect(
      await putEvent(pipeline, publishRequest(pipeline, { DetailType: 'Publish Please' })),
    ).toBeUndefined();
    await pipeline.whenIdle();
    expect(invocationsOf(pipeline, 'publishRequests')).toHaveLength(1);

    const gone = await fetch(`${pipeline.httpApi.endpoint}/datasets/${POPULATION.alias}`);
    expect(gone.status).toBe(404);
  });

  it("runs the template's schedule: the sweep publishes a file whose event was lost", async () => {
    pipeline = await startFastPipeline({
      deliverEvents: false,
      runSchedules: true,
      scheduleIntervalMs: 300,
      env: { SWEEP_MIN_AGE_SECONDS: '0' },
    });
    const key = `incoming/${POPULATION.alias}/replace/lost-event.csv`;
    await pipeline.drop(key, POPULATION_CSV);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && (await pipeline.keys('processed/')).length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await pipeline.whenIdle();
    expect(await pipeline.keys('processed/')).toEqual([
      expect.stringMatching(filedAt(key, 'processed')),
      expect.stringMatching(/\.report\.json$/),
    ]);
    const sweeps = invocationsOf(pipeline, 'sweep');
    expect(sweeps.length).toBeGreaterThan(0);
    expect(sweeps[0]?.event).toMatchObject({ source: 'aws.events', 'detail-type': 'Scheduled Event' });
  });

  it("answers API Gateway's 500 when the route's function passes its own time limit", async () => {
    pipeline = await startFastPipeline({ timeoutsMs: { forwarderHttp: 300 } });
    pipeline.performancePlatform?.fault({ method: 'POST', delayMs: 1_000, times: 1 });
    const started = Date.now();
    const response = await fetch(`${pipeline.httpApi.endpoint}${PP_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ _timestamp: '2024-02-01T00:00:00Z', channel: 'digital', count: 1 }]),
    });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual(JSON.parse(FUNCTION_FAILED_ANSWER.body ?? '{}'));
    expect(Date.now() - started).toBeLessThan(1_000);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    await pipeline.whenIdle();
  });

  it("answers API Gateway's bare 503 past the integration's time limit, while the function goes on", async () => {
    pipeline = await startFastPipeline({ httpTimeoutMs: 300 });
    // The write API answers after 1 s: longer than the route may take.
    pipeline.performancePlatform?.fault({ method: 'POST', delayMs: 1_000, times: 1 });
    const response = await fetch(`${pipeline.httpApi.endpoint}${PP_PATH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ _timestamp: '2024-02-01T00:00:00Z', channel: 'digital', count: 1 }]),
    });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual(JSON.parse(INTEGRATION_TIMEOUT_ANSWER.body ?? '{}'));
    // As in AWS, the function was not stopped: the records arrive.
    await pipeline.whenIdle();
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(await pipeline.performancePlatform?.records('carers-allowance', 'transaction-count')).toHaveLength(
      1,
    );
  });
});
