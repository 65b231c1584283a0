import type { SSMClientConfig } from '@aws-sdk/client-ssm';
import { AwsServiceError, createAwsJsonRpcServer, requiredString } from './aws-json-rpc.js';
import {
  closeServer,
  LOCAL_ACCOUNT_ID,
  LOCAL_REGION,
  listenLocal,
  localCredentials,
  localEndpoint,
} from './common.js';

/** Failures SSM gives, as its API names them: throttled, failing, or refusing the caller. */
export type SsmFault = 'throttled' | 'server-error' | 'access-denied';

export interface LocalSsm {
  endpoint: string;
  /** Stores a SecureString parameter (or replaces its value). */
  put(name: string, value: string): void;
  delete(name: string): void;
  /** The next `times` GetParameter calls fail with `fault`. */
  fault(fault: SsmFault, times: number): void;
  clearFaults(): void;
  /** GetParameter calls received, failed ones included. */
  reads(): number;
  close(): Promise<void>;
}

const FAULT_ERRORS: Record<SsmFault, () => AwsServiceError> = {
  throttled: () => new AwsServiceError('ThrottlingException', 'Rate exceeded', 400),
  'server-error': () => new AwsServiceError('InternalServerError', 'An internal error occurred', 500),
  'access-denied': () =>
    new AwsServiceError(
      'AccessDeniedException',
      'User is not authorized to perform: ssm:GetParameter on this resource',
      400,
    ),
};

/**
 * SSM Parameter Store's GetParameter (AWS JSON 1.1) on 127.0.0.1, for the API key as a
 * SecureString: no local stand-in exists on npm, and the key's failures (throttling, 5xx, a
 * missing parameter, a role without access) must reach the code through the real SDK client.
 */
export async function startLocalSsm(options: { port?: number } = {}): Promise<LocalSsm> {
  const parameters = new Map<string, { value: string; version: number; modified: Date }>();
  const faults: SsmFault[] = [];
  let reads = 0;
  const server = createAwsJsonRpcServer({
    targetPrefix: 'AmazonSSM',
    contentType: 'application/x-amz-json-1.1',
    operations: {
      GetParameter: (input) => {
        reads += 1;
        const name = requiredString(input, 'Name');
        const fault = faults.shift();
        if (fault) throw FAULT_ERRORS[fault]();
        const parameter = parameters.get(name);
        if (!parameter) throw new AwsServiceError('ParameterNotFound', '', 400);
        return {
          Parameter: {
            Name: name,
            Type: 'SecureString',
            // Without WithDecryption a SecureString comes back encrypted: never the plain value.
            Value: input.WithDecryption === true ? parameter.value : 'AQICAHh-encrypted-value',
            Version: parameter.version,
            LastModifiedDate: parameter.modified.getTime() / 1000,
            ARN: `arn:aws:ssm:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:parameter${name}`,
            DataType: 'text',
          },
        };
      },
    },
  });
  const port = await listenLocal(server, options.port ?? 0);
  return {
    endpoint: localEndpoint(port),
    put(name, value) {
      const version = (parameters.get(name)?.version ?? 0) + 1;
      parameters.set(name, { value, version, modified: new Date() });
    },
    delete(name) {
      parameters.delete(name);
    },
    fault(fault, times) {
      for (let i = 0; i < times; i++) faults.push(fault);
    },
    clearFaults() {
      faults.length = 0;
    },
    reads: () => reads,
    close: () => closeServer(server),
  };
}

export function localSsmClientConfig(endpoint: string): SSMClientConfig {
  return { endpoint, region: LOCAL_REGION, credentials: localCredentials() };
}
