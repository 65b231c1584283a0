import type { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import type { Settings } from '../config.js';
import { PpTokenMissingError } from '../errors.js';
import { defaultSsmProvider, readSecureParameter } from '../parameters.js';

export type PpTokenProvider = (dataGroup: string, dataType: string) => Promise<string>;

/**
 * The bearer token of a data set: in AWS from the SSM SecureString
 * `<PP_TOKEN_PARAMETER_PREFIX>/<group>/<type>` (cached five minutes, so a rotated token is picked
 * up without a deploy); locally `PP_TOKEN` when set (one token for all), else a map of `group/type` to token.
 */
export function ppTokenProvider(
  settings: Settings,
  localTokens: Record<string, string> = {},
  ssm: () => Pick<SSMProvider, 'get'> = defaultSsmProvider,
): PpTokenProvider {
  const prefix = settings.PP_TOKEN_PARAMETER_PREFIX;
  if (prefix) {
    return (dataGroup, dataType) => {
      const name = `${prefix}/${dataGroup}/${dataType}`;
      return readSecureParameter(ssm(), name, {
        maxAgeSeconds: 300,
        missing: () =>
          new PpTokenMissingError(`No token is configured for ${dataGroup}/${dataType} (SSM ${name})`),
      });
    };
  }
  return async (dataGroup, dataType) => {
    const token = settings.PP_TOKEN ?? localTokens[`${dataGroup}/${dataType}`];
    if (!token) throw new PpTokenMissingError(`No token is configured for ${dataGroup}/${dataType}`);
    return token;
  };
}
