import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { captured } from './client-capture.js';
import { ConfigError, ParameterUnavailableError, toError } from './errors.js';
import { outboundProxy, sdkRequestHandler } from './proxy.js';

let sharedProvider: SSMProvider | undefined;

/**
 * One SSM provider per container (Powertools caches per provider), made on first use; its client
 * goes through HTTPS_PROXY when one is set (the CLI reading a key from SSM on a proxied network).
 */
export function defaultSsmProvider(): SSMProvider {
  if (!sharedProvider) {
    sharedProvider = outboundProxy()
      ? new SSMProvider({ clientConfig: { requestHandler: sdkRequestHandler({}) } })
      : new SSMProvider();
    captured(sharedProvider.client);
  }
  return sharedProvider;
}

/** SSM's answers for a parameter that does not exist. */
const MISSING = new Set(['ParameterNotFound', 'ParameterVersionNotFound']);

/**
 * Reads a SecureString through Powertools (cached `maxAgeSeconds`, so a rotated value is picked
 * up without a deploy), with its failures typed: a missing, empty or unreadable parameter is a
 * ConfigError naming it (waiting will not fix it); throttling, a 5xx, a timeout or a network
 * error is a ParameterUnavailableError (it may pass). `missing` builds the error for a parameter
 * that does not exist, when the caller has a better one.
 */
export async function readSecureParameter(
  provider: Pick<SSMProvider, 'get'>,
  name: string,
  options: { maxAgeSeconds: number; missing?: () => Error },
): Promise<string> {
  let value: string | undefined;
  try {
    value = await provider.get(name, { decrypt: true, maxAge: options.maxAgeSeconds });
  } catch (error) {
    throw parameterError(name, error, options.missing);
  }
  if (!value) {
    throw options.missing?.() ?? new ConfigError(`The SSM parameter ${name} is empty: put the value in it.`);
  }
  return value;
}

/** Powertools wraps the SDK's error in GetParameterError; its cause says what happened. */
export function parameterError(name: string, error: unknown, missing?: () => Error): Error {
  const wrapper = toError(error);
  const cause = wrapper.name === 'GetParameterError' && wrapper.cause ? toError(wrapper.cause) : wrapper;
  const status = (cause as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (MISSING.has(cause.name) || wrapper.name === 'ParameterNotFoundError') {
    return (
      missing?.() ??
      new ConfigError(
        `The SSM parameter ${name} does not exist. Create it as a SecureString (aws ssm put-parameter --type SecureString --name ${name} --value …).`,
      )
    );
  }
  const passing =
    status === undefined ||
    status === 429 ||
    status >= 500 ||
    /Throttl|TooManyRequests|InternalServerError|ServiceUnavailable|Timeout/i.test(cause.name);
  if (passing) {
    return new ParameterUnavailableError(
      `SSM could not give the parameter ${name} (${cause.name}); it will be read again`,
      { cause },
    );
  }
  return new ConfigError(
    `The SSM parameter ${name} cannot be read (${cause.name}): check that the function's role may call ssm:GetParameter on it, and kms:Decrypt if it is encrypted with a customer managed key.`,
  );
}
