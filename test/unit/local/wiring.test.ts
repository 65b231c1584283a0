import { beforeAll, describe, expect, it } from 'vitest';
import { type CfnTemplate, localTemplate } from '../../../local/aws/template.js';
import { type Wiring, WiringError, wiringOf } from '../../../local/wiring.js';

/*
 * The local run's wiring is read from this checkout's packaged template (local/aws/template.ts):
 * these tests read it the same way and check what the local run will do with it.
 */

let template: CfnTemplate;
let wiring: Wiring;

beforeAll(async () => {
  template = await localTemplate();
  wiring = wiringOf(template);
}, 180_000);

describe('the wiring read from the packaged template', () => {
  it('has every function of serverless.yml, with its handler, timeout and resolved environment', () => {
    const byName = Object.fromEntries(wiring.functions.map((fn) => [fn.name, fn]));
    expect(Object.keys(byName).sort()).toEqual([
      'checkStatus',
      'fileOutcome',
      'forwarder',
      'forwarderHttp',
      'publishRequests',
      'reupload',
      'sweep',
      'upload',
    ]);
    expect(byName.upload).toMatchObject({ handler: 'functions/upload-file.handler', timeoutSeconds: 900 });
    expect(byName.forwarderHttp).toMatchObject({
      handler: 'functions/forward-performance.handler',
      timeoutSeconds: 28,
    });
    // Intrinsics evaluated: Fn::Sub with pseudo parameters, Ref to a table, names of functions.
    expect(byName.upload?.environment).toMatchObject({
      DROP_BUCKET: 'govpub-local-drop-000000000000-ap-southeast-1',
      LOCK_TABLE_NAME: 'govpub-local-locks',
      EVENT_BUS_NAME: 'govpub-local',
      FORWARDER_FUNCTION_NAME: 'forwarder',
      STATE_MACHINE_ARN:
        'arn:aws:states:ap-southeast-1:000000000000:stateMachine:govpub-local-publish-dataset',
    });
    expect(byName.sweep?.environment.UPLOAD_FUNCTION_NAME).toBe('upload');
    for (const fn of wiring.functions) {
      for (const [key, value] of Object.entries(fn.environment)) {
        expect(value, `${fn.name} ${key} is resolved`).not.toMatch(/\$\{|\[object Object\]/);
      }
    }
  });

  it('routes each HTTP API route to its function, with the integration time limit', () => {
    expect(
      wiring.httpRoutes.map((r) => `${r.method} ${r.path} -> ${r.functionName} ${r.timeoutMs}`).sort(),
    ).toEqual([
      'GET /datasets/{dataset} -> publishRequests 30000',
      'POST /datasets/{dataset}/uploads -> publishRequests 30000',
      'POST /performance/{dataGroup}/{dataType} -> forwarderHttp 30000',
      'PUT /performance/{dataGroup}/{dataType} -> forwarderHttp 30000',
    ]);
  });

  it('reads the rules with their whole patterns, on govpub-local, and the sources from RequestSources', () => {
    const rule = (id: string) => wiring.rules.find((r) => r.logicalId === id);
    expect(rule('PublishRequestsRule')).toEqual({
      logicalId: 'PublishRequestsRule',
      eventBusName: 'govpub-local',
      pattern: { source: ['govpub.requests'], 'detail-type': ['Publish Dataset Requested'] },
      targets: [{ kind: 'function', functionName: 'publishRequests' }],
    });
    expect(rule('PerformanceRecordsRule')?.targets).toEqual([
      { kind: 'function', functionName: 'forwarder' },
    ]);
    const notify = rule('NotifyPublishProblemsRule');
    expect(notify?.pattern).toEqual({
      source: ['govpub'],
      'detail-type': ['Dataset Publish Failed', 'Dataset Publish Unconfirmed'],
    });
    expect(notify?.targets).toEqual([
      {
        kind: 'topic',
        topicArn: 'arn:aws:sns:ap-southeast-1:000000000000:govpub-local-notifications',
        inputTransformer: expect.objectContaining({ InputTemplate: expect.stringContaining('<dataset>') }),
      },
    ]);
    expect(wiring.topicArns).toEqual(['arn:aws:sns:ap-southeast-1:000000000000:govpub-local-notifications']);
    // A parameter given changes the patterns as it would in CloudFormation.
    const other = wiringOf(template, { RequestSources: 'agency.etl,agency.crm' });
    expect(other.rules.find((r) => r.logicalId === 'PublishRequestsRule')?.pattern.source).toEqual([
      'agency.etl',
      'agency.crm',
    ]);
  });

  it('keeps a resource whose condition is false out: successes are told only when NotifySuccesses is true', () => {
    expect(wiring.rules.map((r) => r.logicalId)).not.toContain('NotifySuccessesRule');
    expect(wiringOf(template, { NotifySuccesses: 'true' }).rules.map((r) => r.logicalId)).toContain(
      'NotifySuccessesRule',
    );
  });

  it('has the sweep schedule and the drop bucket trigger', () => {
    expect(wiring.schedules).toEqual([
      { logicalId: expect.any(String), everyMs: 600_000, functionName: 'sweep' },
    ]);
    expect(wiring.bucketTriggers).toEqual([{ prefix: 'incoming/', functionName: 'upload' }]);
  });

  it('refuses what it cannot evaluate, naming it', () => {
    const broken: CfnTemplate = structuredClone(template);
    const upload = broken.Resources.UploadLambdaFunction?.Properties as {
      Environment: { Variables: object };
    };
    upload.Environment.Variables = { ODD: { 'Fn::Base64': 'x' } };
    expect(() => wiringOf(broken)).toThrow(WiringError);
    expect(() => wiringOf(broken)).toThrow(/Fn::Base64/);
    const dangling: CfnTemplate = structuredClone(template);
    environmentOfUpload(dangling).Variables = { GONE: { Ref: 'NoSuchThing' } };
    expect(() => wiringOf(dangling)).toThrow(/NoSuchThing/);
  });
});

function environmentOfUpload(changed: CfnTemplate): { Variables: object } {
  const properties = changed.Resources.UploadLambdaFunction?.Properties;
  if (!properties) throw new Error('the template has no UploadLambdaFunction');
  return properties.Environment as { Variables: object };
}

describe("the bus's policy, as the local bus honours it", () => {
  it('reads the allow-listed sources and the source only the functions may use', async () => {
    const template = await localTemplate();
    expect(wiringOf(template).busPolicies).toEqual([
      {
        eventBusName: 'govpub-local',
        allowedSources: ['govpub', 'govpub.requests'],
        functionOnlySources: ['govpub'],
      },
    ]);
  });

  it('refuses a policy statement it cannot honour rather than ignoring it', async () => {
    const changed = structuredClone(await localTemplate());
    const policy = changed.Resources.EventBus?.Properties?.Policy as { Statement: unknown[] };
    policy.Statement.push({
      Effect: 'Deny',
      Principal: '*',
      Action: 'events:PutEvents',
      Resource: '*',
      Condition: { StringEquals: { 'events:detail-type': 'x' } },
    });
    expect(() => wiringOf(changed)).toThrow(/cannot honour/);
  });
});
