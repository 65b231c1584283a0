import { readFileSync } from 'node:fs';
import { ConfigError } from '../../lib/errors.js';
import { VALID_KEY } from '../../lib/performance-platform/records.js';
import * as z from '../../lib/zod.js';
import type { LocalDataSetConfig } from './types.js';

/** stagecraft's rule for data groups and data types. */
const NAME = /^[a-z0-9-]+$/;

const dataSetSchema = z.strictObject({
  description: z.optional(z.string()),
  dataGroup: z.string().check(z.regex(NAME, 'must be lower-case letters, digits and "-" (stagecraft)')),
  dataType: z.string().check(z.regex(NAME, 'must be lower-case letters, digits and "-" (stagecraft)')),
  bearerToken: z
    .string()
    .check(
      z.minLength(1, 'must not be empty'),
      z.regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (it travels in an HTTP header)'),
    ),
  autoIds: z.optional(
    z.array(
      z
        .string()
        .check(
          z.refine(
            (key) => /^[A-Za-z0-9_]+$/.test(key) && VALID_KEY.test(key.toLowerCase()),
            'must be a valid record key (letters, digits, "_"; 2+ characters; not starting with a digit)',
          ),
        ),
    ),
  ),
});

const dataSetListSchema = z.array(dataSetSchema).check(z.minLength(1, 'must list at least one data set'));

const fileSchema = z.strictObject({
  description: z.optional(z.string()),
  dataSets: dataSetListSchema,
});

/** Reads and checks a data-set file (see config/performance-platform-local.json); every problem in one ConfigError. */
export function loadDataSetsConfig(path: string): LocalDataSetConfig[] {
  let content: unknown;
  try {
    content = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(
      `Cannot read Performance Platform data sets from ${path}: ${(error as Error).message}`,
    );
  }
  return parseDataSetsFile(content, path);
}

export function parseDataSetsFile(content: unknown, source: string): LocalDataSetConfig[] {
  const parsed = fileSchema.safeParse(content);
  if (!parsed.success)
    throw new ConfigError(`Invalid Performance Platform data sets in ${source}: ${describe(parsed.error)}`);
  return checkDataSets(parsed.data.dataSets, source);
}

/** Checks data sets given in code (the server's options) by the same rules as the file. */
export function checkDataSets(dataSets: unknown, source: string): LocalDataSetConfig[] {
  const parsed = dataSetListSchema.safeParse(dataSets);
  if (!parsed.success) {
    throw new ConfigError(
      `Invalid Performance Platform data sets in ${source}: ${describe(parsed.error, ['dataSets'])}`,
    );
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  parsed.data.forEach((dataSet, index) => {
    const key = `${dataSet.dataGroup}/${dataSet.dataType}`;
    if (seen.has(key)) problems.push(`dataSets.${index}: ${key} is listed twice`);
    seen.add(key);
  });
  if (problems.length > 0) {
    throw new ConfigError(`Invalid Performance Platform data sets in ${source}: ${problems.join('; ')}`);
  }
  return parsed.data.map(({ description: _description, ...dataSet }) => dataSet);
}

function describe(error: z.core.$ZodError, prefix: readonly string[] = []): string {
  return error.issues
    .map((issue) => `${[...prefix, ...issue.path.map(String)].join('.') || '(file)'}: ${issue.message}`)
    .join('; ');
}
