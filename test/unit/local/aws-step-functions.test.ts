import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  InvalidExecutionInput,
  InvalidName,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalStepFunctions,
  loadAslForLocalRun,
  localSfnClientConfig,
  startLocalStepFunctions,
} from '../../../local/aws/step-functions.js';

/** As written for serverless.yml: Lambda resources are CloudFormation intrinsics. */
const PUBLISH_ASL = {
  StartAt: 'Validate',
  States: {
    Validate: {
      Type: 'Task',
      Resource: { 'Fn::GetAtt': ['validateDrop', 'Arn'] },
      Catch: [{ ErrorEquals: ['DropRejectedError'], ResultPath: '$.rejection', Next: 'Rejected' }],
      Next: 'Settle',
    },
    Settle: { Type: 'Wait', Seconds: 3600, Next: 'Route' },
    Route: {
      Type: 'Choice',
      Choices: [{ Variable: '$.mode', StringEquals: 'replace', Next: 'Publish' }],
      Default: 'Skipped',
    },
    Publish: { Type: 'Task', Resource: { 'Fn::GetAtt': ['publishDrop', 'Arn'] }, End: true },
    Skipped: { Type: 'Succeed' },
    Rejected: { Type: 'Pass', End: true },
  },
};

interface DropInput {
  mode?: string;
  hold?: boolean;
  reject?: boolean;
  publishFails?: boolean;
}

class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** Lets a test keep an execution RUNNING until it releases it. */
let releaseHeld: () => void = () => {};
let held = new Promise<void>((resolve) => {
  releaseHeld = resolve;
});

function resetHold(): void {
  held = new Promise<void>((resolve) => {
    releaseHeld = resolve;
  });
}

async function validateDrop(input: DropInput): Promise<DropInput> {
  if (input.hold) await held;
  if (input.reject) throw new NamedError('DropRejectedError', 'not a CSV');
  return { ...input };
}

async function publishDrop(input: DropInput): Promise<unknown> {
  if (input.publishFails) throw new NamedError('DgsTransientError', 'HTTP 503');
  return { published: true, mode: input.mode, at: new Date(0) };
}

describe('startLocalStepFunctions', () => {
  let sfn: LocalStepFunctions;
  let client: SFNClient;
  let arn: string;
  let runCount = 0;
  const start = (input: object, name = `run-${++runCount}`) =>
    client.send(new StartExecutionCommand({ stateMachineArn: arn, name, input: JSON.stringify(input) }));
  const describeRun = (executionArn: string) => client.send(new DescribeExecutionCommand({ executionArn }));

  beforeAll(async () => {
    sfn = await startLocalStepFunctions({
      machines: [
        {
          name: 'publish',
          definition: loadAslForLocalRun(PUBLISH_ASL),
          taskHandlers: { Validate: validateDrop, Publish: publishDrop },
          waitTimeOverrides: { Settle: 0 },
        },
      ],
    });
    client = new SFNClient(localSfnClientConfig(sfn.endpoint));
    arn = sfn.stateMachineArn('publish');
  });

  afterEach(async () => {
    releaseHeld();
    await sfn.whenIdle();
    resetHold();
  });

  afterAll(async () => {
    client.destroy();
    await sfn.close();
  });

  it('runs Task, Wait and Choice states to SUCCEEDED when started through the SFN client', async () => {
    const { executionArn, startDate } = await start({ mode: 'replace' }, 'drop-ok');
    await sfn.whenIdle();

    const described = await describeRun(executionArn ?? '');
    expect(executionArn).toBe('arn:aws:states:ap-southeast-1:000000000000:execution:publish:drop-ok');
    expect(startDate).toBeInstanceOf(Date);
    expect(described).toMatchObject({ status: 'SUCCEEDED', name: 'drop-ok', stateMachineArn: arn });
    expect(described.stopDate).toBeInstanceOf(Date);
    expect(JSON.parse(described.input ?? '')).toEqual({ mode: 'replace' });
    // The result went through JSON, as a Lambda response does: the Date is a string.
    expect(JSON.parse(described.output ?? '')).toEqual({
      published: true,
      mode: 'replace',
      at: '1970-01-01T00:00:00.000Z',
    });
    const execution = sfn.executions().find((candidate) => candidate.executionArn === executionArn);
    expect(execution?.statesEntered).toEqual(['Validate', 'Settle', 'Route', 'Publish']);
  });

  it('takes the Choice default when no rule matches', async () => {
    const { executionArn } = await start({ mode: 'append' });
    await sfn.whenIdle();

    expect((await describeRun(executionArn ?? '')).status).toBe('SUCCEEDED');
    const execution = sfn.executions().find((candidate) => candidate.executionArn === executionArn);
    expect(execution?.statesEntered).toEqual(['Validate', 'Settle', 'Route', 'Skipped']);
  });

  it('follows the Catch whose ErrorEquals names the error a task throws', async () => {
    const { executionArn } = await start({ reject: true });
    await sfn.whenIdle();

    const described = await describeRun(executionArn ?? '');
    expect(described.status).toBe('SUCCEEDED');
    const output = JSON.parse(described.output ?? '') as { rejection: { Error: string; Cause: string } };
    expect(output.rejection.Error).toBe('DropRejectedError');
    // Cause is the JSON that Step Functions reports for a failed Lambda.
    expect(JSON.parse(output.rejection.Cause)).toMatchObject({
      errorType: 'DropRejectedError',
      errorMessage: 'not a CSV',
    });
    const execution = sfn.executions().find((candidate) => candidate.executionArn === executionArn);
    expect(execution?.statesEntered).toEqual(['Validate', 'Rejected']);
  });

  it('reports FAILED with the error name and cause when a task error is not caught', async () => {
    const { executionArn } = await start({ mode: 'replace', publishFails: true });
    await sfn.whenIdle();

    const described = await describeRun(executionArn ?? '');
    expect(described.status).toBe('FAILED');
    expect(described.error).toBe('DgsTransientError');
    expect(JSON.parse(described.cause ?? '')).toMatchObject({ errorMessage: 'HTTP 503' });
    expect(described.output).toBeUndefined();
  });

  it('returns the running execution when started again with the same name and input', async () => {
    const first = await start({ hold: true }, 'drop-dup');
    const again = await start({ hold: true }, 'drop-dup');

    expect(again.executionArn).toBe(first.executionArn);
    expect(again.startDate).toEqual(first.startDate);
    expect((await describeRun(first.executionArn ?? '')).status).toBe('RUNNING');
    expect(sfn.executions().filter((execution) => execution.name === 'drop-dup')).toHaveLength(1);
  });

  it('raises ExecutionAlreadyExists when the name is reused with another input', async () => {
    await start({ hold: true }, 'drop-clash');

    await expect(start({ hold: false }, 'drop-clash')).rejects.toBeInstanceOf(ExecutionAlreadyExists);
  });

  it('raises ExecutionAlreadyExists when the name of a closed execution is reused, as AWS does', async () => {
    await start({ mode: 'append' }, 'drop-closed');
    await sfn.whenIdle();

    await expect(start({ mode: 'append' }, 'drop-closed')).rejects.toBeInstanceOf(ExecutionAlreadyExists);
  });

  it('waits in whenIdle for executions started while it waits', async () => {
    await start({ hold: true });
    const idle = sfn.whenIdle();
    const { executionArn } = await start({ mode: 'append' });
    releaseHeld();
    await idle;

    expect((await describeRun(executionArn ?? '')).status).toBe('SUCCEEDED');
    expect(sfn.executions().every((execution) => execution.status !== 'RUNNING')).toBe(true);
  });

  it('reports ABORTED with the given error when a running execution is stopped', async () => {
    const { executionArn } = await start({ hold: true });

    await client.send(new StopExecutionCommand({ executionArn, error: 'Operator', cause: 'cancelled' }));
    await sfn.whenIdle();

    expect(await describeRun(executionArn ?? '')).toMatchObject({
      status: 'ABORTED',
      error: 'Operator',
      cause: 'cancelled',
    });
  });

  it('raises the named SDK exceptions for an unknown machine, a bad name, bad input or unknown execution', async () => {
    const unknownMachine = client.send(
      new StartExecutionCommand({ stateMachineArn: sfn.stateMachineArn('nope'), input: '{}' }),
    );
    const badName = client.send(new StartExecutionCommand({ stateMachineArn: arn, name: 'has space' }));
    const badInput = client.send(new StartExecutionCommand({ stateMachineArn: arn, input: '{not json' }));
    const unknownExecution = describeRun(
      'arn:aws:states:ap-southeast-1:000000000000:execution:publish:never-started',
    );

    await expect(unknownMachine).rejects.toBeInstanceOf(StateMachineDoesNotExist);
    await expect(badName).rejects.toBeInstanceOf(InvalidName);
    await expect(badInput).rejects.toBeInstanceOf(InvalidExecutionInput);
    await expect(unknownExecution).rejects.toBeInstanceOf(ExecutionDoesNotExist);
  });

  it('names the execution itself when StartExecution has no name', async () => {
    const { executionArn } = await client.send(new StartExecutionCommand({ stateMachineArn: arn }));

    expect(executionArn).toMatch(/:execution:publish:[0-9a-f-]{36}$/);
  });
});

describe('startLocalStepFunctions configuration', () => {
  it('refuses a machine whose Task state has no local handler, before any AWS call can happen', async () => {
    const machine = { name: 'm', definition: loadAslForLocalRun(PUBLISH_ASL), taskHandlers: {} };

    await expect(startLocalStepFunctions({ machines: [machine] })).rejects.toThrow(
      /Task states without a handler: \[Validate, Publish\]/,
    );
  });
});

describe('loadAslForLocalRun', () => {
  it('replaces CloudFormation intrinsics with deterministic local values', () => {
    const loaded = loadAslForLocalRun({
      StartAt: 'A',
      States: {
        A: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: {
            FunctionName: { 'Fn::GetAtt': ['publishDrop', 'Arn'] },
            Table: { Ref: 'LedgerTable' },
            // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub's own ${} syntax
            Queue: { 'Fn::Sub': 'arn:aws:sqs:${AWS::Region}:${AWS::AccountId}:${QueueName}' },
            // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub's own ${} syntax
            Bucket: { 'Fn::Sub': ['${Prefix}-drops', { Prefix: { Ref: 'Stage' } }] },
            Joined: { 'Fn::Join': ['-', ['a', { Ref: 'AWS::Partition' }]] },
            Kept: ['plain', 1, null],
          },
          End: true,
        },
      },
    });

    expect(loaded).toEqual({
      StartAt: 'A',
      States: {
        A: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: {
            FunctionName: 'arn:aws:lambda:ap-southeast-1:000000000000:function:publishDrop',
            Table: 'LedgerTable',
            Queue: 'arn:aws:sqs:ap-southeast-1:000000000000:QueueName',
            Bucket: 'Stage-drops',
            Joined: 'a-aws',
            Kept: ['plain', 1, null],
          },
          End: true,
        },
      },
    });
  });

  it('uses the given refs when a Ref names one', () => {
    const loaded = loadAslForLocalRun(
      { Table: { Ref: 'LedgerTable' } },
      { refs: { LedgerTable: 'ledger-ci' } },
    );

    expect(loaded).toEqual({ Table: 'ledger-ci' });
  });
});
