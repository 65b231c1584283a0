import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ParameterUnavailableError, PpTokenMissingError } from '../../../lib/errors.js';
import { defaultSsmProvider, parameterError, readSecureParameter } from '../../../lib/parameters.js';
import { type LocalSsm, localSsmClientConfig, startLocalSsm } from '../../../local/aws/ssm.js';

describe('readSecureParameter against the local SSM', () => {
  let ssm: LocalSsm;
  const provider = () =>
    new SSMProvider({
      awsSdkV3Client: new SSMClient({ ...localSsmClientConfig(ssm.endpoint), maxAttempts: 1 }),
    });

  beforeAll(async () => {
    ssm = await startLocalSsm();
    ssm.put('/govpub/test/key', 'the-secret-value');
    ssm.put('/govpub/test/empty', '');
  });
  afterAll(async () => ssm.close());

  it('reads the decrypted value, cached for maxAgeSeconds', async () => {
    const cached = provider();
    const before = ssm.reads();
    expect(await readSecureParameter(cached, '/govpub/test/key', { maxAgeSeconds: 300 })).toBe(
      'the-secret-value',
    );
    expect(await readSecureParameter(cached, '/govpub/test/key', { maxAgeSeconds: 300 })).toBe(
      'the-secret-value',
    );
    expect(ssm.reads() - before).toBe(1);
    const uncached = provider();
    await readSecureParameter(uncached, '/govpub/test/key', { maxAgeSeconds: 0 });
    await readSecureParameter(uncached, '/govpub/test/key', { maxAgeSeconds: 0 });
    expect(ssm.reads() - before).toBe(3);
  });

  it.each([
    [
      'throttled',
      ParameterUnavailableError,
      /^SSM could not give the parameter \/govpub\/test\/key \(ThrottlingException\); it will be read again$/,
    ],
    ['server-error', ParameterUnavailableError, /\(InternalServerError\)/],
    [
      'access-denied',
      ConfigError,
      /^The SSM parameter \/govpub\/test\/key cannot be read \(AccessDeniedException\): check that the function's role may call ssm:GetParameter on it/,
    ],
  ] as const)('%s: %s', async (fault, type, message) => {
    ssm.fault(fault, 1);
    const error = await readSecureParameter(provider(), '/govpub/test/key', { maxAgeSeconds: 0 }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toMatch(message);
  });

  it('a missing parameter is a configuration error that says how to create it, or the caller’s own', async () => {
    await expect(readSecureParameter(provider(), '/govpub/test/none', { maxAgeSeconds: 0 })).rejects.toThrow(
      new ConfigError(
        'The SSM parameter /govpub/test/none does not exist. Create it as a SecureString (aws ssm put-parameter --type SecureString --name /govpub/test/none --value …).',
      ),
    );
    await expect(
      readSecureParameter(provider(), '/govpub/test/none', {
        maxAgeSeconds: 0,
        missing: () => new PpTokenMissingError('no token'),
      }),
    ).rejects.toBeInstanceOf(PpTokenMissingError);
  });

  it('an empty parameter is the caller’s missing error when it has one', async () => {
    await expect(
      readSecureParameter(provider(), '/govpub/test/empty', {
        maxAgeSeconds: 0,
        missing: () => new PpTokenMissingError('no token'),
      }),
    ).rejects.toBeInstanceOf(PpTokenMissingError);
  });

  it('one SSM provider is shared by the whole container', () => {
    expect(defaultSsmProvider()).toBeInstanceOf(SSMProvider);
    expect(defaultSsmProvider()).toBe(defaultSsmProvider());
  });

  it('an empty parameter is a configuration error too', async () => {
    await expect(readSecureParameter(provider(), '/govpub/test/empty', { maxAgeSeconds: 0 })).rejects.toThrow(
      'The SSM parameter /govpub/test/empty is empty: put the value in it.',
    );
  });

  it('an SSM that cannot be reached may pass', async () => {
    const nowhere = new SSMProvider({
      awsSdkV3Client: new SSMClient({ ...localSsmClientConfig('http://127.0.0.1:1'), maxAttempts: 1 }),
    });
    await expect(
      readSecureParameter(nowhere, '/govpub/test/key', { maxAgeSeconds: 0 }),
    ).rejects.toBeInstanceOf(ParameterUnavailableError);
  });
});

describe('parameterError', () => {
  const sdkError = (name: string, status?: number) =>
    Object.assign(new Error('x'), {
      name,
      ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }),
    });
  const wrapped = (cause: Error) =>
    Object.assign(new Error(cause.message, { cause }), { name: 'GetParameterError' });

  it.each([
    [sdkError('ThrottlingException', 400), ParameterUnavailableError],
    [sdkError('TooManyRequestsException', 400), ParameterUnavailableError],
    [sdkError('SomethingElse', 429), ParameterUnavailableError],
    [sdkError('InternalServerError', 500), ParameterUnavailableError],
    [sdkError('ServiceUnavailable', 503), ParameterUnavailableError],
    [sdkError('TimeoutError'), ParameterUnavailableError],
    [sdkError('InvalidKeyId', 400), ConfigError],
    [sdkError('AccessDeniedException', 400), ConfigError],
    [sdkError('ParameterNotFound', 400), ConfigError],
    [sdkError('ParameterVersionNotFound', 400), ConfigError],
  ])('%s, wrapped or not, is a %s', (cause, type) => {
    expect(parameterError('/p', wrapped(cause))).toBeInstanceOf(type);
    expect(parameterError('/p', cause)).toBeInstanceOf(type);
  });

  it.each([
    [sdkError('Unrecognised', 500), ParameterUnavailableError],
    [sdkError('Unrecognised', 502), ParameterUnavailableError],
    [sdkError('Unrecognised', 499), ConfigError],
  ])('%s by its status alone is a %s', (cause, type) => {
    expect(parameterError('/p', cause)).toBeInstanceOf(type);
  });

  it('looks through Powertools’ wrapper only: a wrapper without a cause, or another error’s cause, is taken as it is', () => {
    const bare = Object.assign(new Error('wrapped nothing'), {
      name: 'GetParameterError',
      $metadata: { httpStatusCode: 403 },
    });
    expect(parameterError('/p', bare)).toBeInstanceOf(ConfigError);
    const other = Object.assign(new Error('x', { cause: sdkError('ThrottlingException', 400) }), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
    expect(parameterError('/p', other)).toBeInstanceOf(ConfigError);
  });

  it('keeps the SDK’s error as the cause of a passing failure, and names a missing version as missing', () => {
    const cause = sdkError('ThrottlingException', 400);
    expect(parameterError('/p', wrapped(cause)).cause).toBe(cause);
    expect(parameterError('/p', sdkError('ParameterVersionNotFound', 400)).message).toMatch(/does not exist/);
  });

  it('takes Powertools’ own not-found error as missing', () => {
    const notFound = Object.assign(new Error('Parameter /p not found in the store'), {
      name: 'ParameterNotFoundError',
    });
    expect(parameterError('/p', notFound).message).toMatch(/does not exist/);
  });
});
