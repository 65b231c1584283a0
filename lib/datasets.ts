import aliasFile from '../config/datasets.json' with { type: 'json' };
import { ConfigError } from './errors.js';
import * as z from './zod.js';

export const DATASET_ID_PATTERN = /^d_[0-9a-f]{32}$/;
export const ALIAS_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** Segments under incoming/ that belong to other pipelines. */
const RESERVED_ALIASES = new Set(['performance']);

const aliasFileSchema = z.object({
  about: z.optional(z.string()),
  aliases: z.record(
    z.string().check(z.regex(ALIAS_PATTERN, 'alias must be lower case letters, digits, ".", "_" or "-"')),
    z
      .string()
      .check(z.regex(DATASET_ID_PATTERN, 'must be a datasetId: d_ followed by 32 lower-case hex digits')),
  ),
});

/** Maps the dataset segment of a drop key (a datasetId or an alias) to a datasetId, and back. */
export interface DatasetDirectory {
  resolve(ref: string): string | undefined;
  /** Every key segment that names this dataset: the id itself and its aliases, sorted. */
  refsFor(datasetId: string): string[];
}

/** Builds the directory from the parsed content of `config/datasets.json`; throws ConfigError. */
export function createDatasetDirectory(content: unknown): DatasetDirectory {
  const parsed = aliasFileSchema.safeParse(content);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid dataset aliases: ${problems.join('; ')}`);
  }
  const aliases = new Map(Object.entries(parsed.data.aliases));
  for (const alias of aliases.keys()) {
    if (DATASET_ID_PATTERN.test(alias)) {
      throw new ConfigError(`Invalid dataset aliases: ${alias} is a datasetId, not an alias`);
    }
    if (RESERVED_ALIASES.has(alias)) {
      throw new ConfigError(
        `Invalid dataset aliases: "${alias}" is reserved (incoming/${alias}/ is another pipeline's)`,
      );
    }
  }
  return {
    resolve: (ref) => (DATASET_ID_PATTERN.test(ref) ? ref : aliases.get(ref)),
    refsFor: (datasetId) =>
      [datasetId, ...[...aliases].filter(([, id]) => id === datasetId).map(([alias]) => alias)].sort(),
  };
}

/** The directory of the agency's alias file, bundled into every function. */
export const bundledDatasetDirectory: DatasetDirectory = createDatasetDirectory(aliasFile);

/**
 * A directory of several alias files; on a name given twice, the earlier file wins (the agency's
 * aliases before the local stand-in's samples).
 */
export function mergedDatasetDirectory(...files: unknown[]): DatasetDirectory {
  const merged: Record<string, unknown> = {};
  for (const content of [...files].reverse()) {
    const parsed = aliasFileSchema.safeParse(content);
    // Invalid files are reported by createDatasetDirectory below, with their problems.
    if (!parsed.success) return createDatasetDirectory(content);
    Object.assign(merged, parsed.data.aliases);
  }
  return createDatasetDirectory({ aliases: merged });
}
