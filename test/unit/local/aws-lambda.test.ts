import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionNameOf, type LocalLambda, startLocalLambda } from '../../../local/aws/lambda.js';

// @aws-sdk/client-lambda is not a dependency yet, so these requests are built the way its
// InvokeCommand builds them (REST-JSON): POST /2015-03-31/functions/{FunctionName}/invocations
// with the name or ARN percent-encoded as one path segment, the payload as an octet-stream
// body, and the invocation type in X-Amz-Invocation-Type.
async function invoke(
  endpoint: string,
  functionName: string,
  payload: string,
  invocationType: 'Event' | 'RequestResponse' | 'DryRun' = 'RequestResponse',
): Promise<Response> {
  return fetch(`${endpoint}/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', 'x-amz-invocation-type': invocationType },
    body: payload,
  });
}

class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

describe('startLocalLambda', () => {
  let lambda: LocalLambda;
  let releaseSlow: () => void = () => {};
  const slowGate = new Promise<void>((resolve) => {
    releaseSlow = resolve;
  });

  beforeAll(async () => {
    lambda = await startLocalLambda({
      functions: {
        echo: async (event: unknown) => ({ received: event }),
        nothing: async () => undefined,
        reject: async () => {
          throw new NamedError('DropRejectedError', 'not a CSV');
        },
        slow: async (event: { n: number }) => {
          await slowGate;
          return event.n * 2;
        },
      },
    });
  });

  afterAll(async () => {
    releaseSlow();
    await lambda.close();
  });

  it('returns 200 with the JSON result when invoked RequestResponse', async () => {
    const response = await invoke(lambda.endpoint, 'echo', '{"a":1}');

    expect(response.status).toBe(200);
    expect(response.headers.get('x-amz-function-error')).toBeNull();
    expect(response.headers.get('x-amz-executed-version')).toBe('$LATEST');
    expect(await response.json()).toEqual({ received: { a: 1 } });
  });

  it('returns the JSON null when the function returns nothing', async () => {
    const response = await invoke(lambda.endpoint, 'nothing', '{}');

    expect(await response.text()).toBe('null');
  });

  it('finds the function by the name in a full, qualified or partial ARN', async () => {
    const arns = [
      'arn:aws:lambda:ap-southeast-1:000000000000:function:echo',
      'arn:aws:lambda:ap-southeast-1:000000000000:function:echo:live',
      '000000000000:function:echo',
      'echo:$LATEST',
    ];

    const statuses = await Promise.all(
      arns.map(async (arn) => (await invoke(lambda.endpoint, arn, '{}')).status),
    );

    expect(statuses).toEqual([200, 200, 200, 200]);
  });

  it('returns 200 with X-Amz-Function-Error: Unhandled and the error payload when the function throws', async () => {
    const response = await invoke(lambda.endpoint, 'reject', '{}');

    expect(response.status).toBe(200);
    expect(response.headers.get('x-amz-function-error')).toBe('Unhandled');
    expect(await response.json()).toMatchObject({
      errorType: 'DropRejectedError',
      errorMessage: 'not a CSV',
    });
  });

  it('answers 202 at once and runs the function in the background when invoked as Event', async () => {
    const response = await invoke(lambda.endpoint, 'slow', '{"n":21}', 'Event');

    expect(response.status).toBe(202);
    expect(await response.text()).toBe('');
    const pending = lambda.invocations().filter((invocation) => invocation.functionName === 'slow');
    expect(pending.map((invocation) => invocation.status)).toEqual(['RUNNING']);

    releaseSlow();
    await lambda.whenIdle();

    const done = lambda.invocations().find((invocation) => invocation.functionName === 'slow');
    expect(done).toMatchObject({
      invocationType: 'Event',
      status: 'SUCCEEDED',
      event: { n: 21 },
      result: 42,
    });
  });

  it('records an Event invocation error instead of throwing it', async () => {
    const response = await invoke(lambda.endpoint, 'reject', '{"drop":"x"}', 'Event');
    await lambda.whenIdle();

    expect(response.status).toBe(202);
    const failed = lambda.invocations().filter((invocation) => invocation.invocationType === 'Event');
    expect(failed.at(-1)).toMatchObject({
      functionName: 'reject',
      status: 'FAILED',
      error: { errorType: 'DropRejectedError', errorMessage: 'not a CSV' },
    });
  });

  it('answers 404 ResourceNotFoundException when the function is unknown', async () => {
    const response = await invoke(lambda.endpoint, 'missing', '{}');

    expect(response.status).toBe(404);
    expect(response.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
    expect(await response.json()).toMatchObject({ message: expect.stringContaining('function:missing') });
  });

  it('answers 400 InvalidRequestContentException when the payload is not JSON', async () => {
    const response = await invoke(lambda.endpoint, 'echo', '{nope');

    expect(response.status).toBe(400);
    expect(response.headers.get('x-amzn-errortype')).toBe('InvalidRequestContentException');
  });

  it('answers 413 RequestEntityTooLargeException when an Event payload is over 1 MB', async () => {
    const response = await invoke(
      lambda.endpoint,
      'echo',
      JSON.stringify({ blob: 'x'.repeat(1024 * 1024) }),
      'Event',
    );

    expect(response.status).toBe(413);
    expect(response.headers.get('x-amzn-errortype')).toBe('RequestEntityTooLargeException');
  });

  it('answers 204 without running the function when invoked as DryRun', async () => {
    const before = lambda.invocations().length;

    const response = await invoke(lambda.endpoint, 'echo', '{}', 'DryRun');

    expect(response.status).toBe(204);
    expect(lambda.invocations()).toHaveLength(before);
  });
});

describe('functionNameOf', () => {
  it.each([
    ['publish', 'publish'],
    ['publish:prod', 'publish'],
    ['000000000000:function:publish', 'publish'],
    ['arn:aws:lambda:ap-southeast-1:000000000000:function:publish:7', 'publish'],
  ])('takes %j to the function name %j', (input, name) => {
    expect(functionNameOf(input)).toBe(name);
  });
});
