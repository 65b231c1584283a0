import { ConfigError } from './errors.js';
import { isLoopbackHost } from './loopback.js';
import * as z from './zod.js';

export const PRODUCTION_BASE_URL = 'https://api-production.data.gov.sg';
export const STAGING_BASE_URL = 'https://api-staging.data.gov.sg';
/** S3's single-PUT maximum, and data.gov.sg's documented upload limit. */
export const MAX_UPLOAD_BYTES = 5 * 1024 ** 3;
/**
 * Where data.gov.sg's upload links are known to point (reference: path-style, the
 * attachments.data.gov.sg bucket in ap-southeast-1), not any bucket of the region.
 */
export const DEFAULT_UPLOAD_ORIGINS = ['https://s3.ap-southeast-1.amazonaws.com/attachments.data.gov.sg/'];

const positiveInt = z.coerce.number().check(z.int(), z.positive());
const nonNegativeInt = z.coerce.number().check(z.int(), z.nonnegative());
const onOff = z.pipe(
  z.enum(['on', 'off', 'true', 'false', '1', '0']),
  z.transform((value) => value === 'on' || value === 'true' || value === '1'),
);
/**
 * An entry of the upload allow list (see parsePresignedUpload): an origin, optionally with a path
 * prefix that ends in "/" (so that `/bucket/` cannot match `/bucket.other/`).
 */
const ORIGIN = /^https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d+)?(\/([A-Za-z0-9._~-]+\/)*)?$/;
/** https, or http to this machine only (the local stand-ins): a key never travels in clear. */
const secureUrl = z.url().check(
  z.refine((value) => {
    const url = URL.canParse(value) ? new URL(value) : undefined;
    return url?.protocol === 'https:' || (url?.protocol === 'http:' && isLoopbackHost(url.hostname));
  }, 'must be an https URL (plain http only to 127.0.0.1 or localhost)'),
  // A password in a URL ends up wherever the URL is printed; keys and tokens have their own
  // settings (and SSM parameters). The message never repeats the value.
  z.refine(
    (value) => !URL.canParse(value) || (new URL(value).username === '' && new URL(value).password === ''),
    'must not hold a user name or password (https://host, not https://user:password@host): give the key or token in its own setting',
  ),
);
const commaList = z.pipe(
  z.string(),
  z.transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  ),
);

/**
 * The tunables of the pipeline, each with its env name and default. Everything is optional so
 * that one module serves every function; `requireSetting` enforces what a function needs.
 */
const settingsSchema = z.object({
  DROP_BUCKET: z.optional(z.string().check(z.minLength(1))),
  LOCK_TABLE_NAME: z.optional(z.string().check(z.minLength(1))),
  STATE_MACHINE_ARN: z.optional(z.string().check(z.minLength(1))),
  UPLOAD_FUNCTION_NAME: z.optional(z.string().check(z.minLength(1))),
  EVENT_BUS_NAME: z._default(z.string().check(z.minLength(1)), 'default'),
  /**
   * Where objects outside incoming/ may be published from, per dataset: `<prefix><dataset>/…`
   * (the dataset's id or an alias), so a caller allowed one dataset cannot publish another's files.
   */
  COPY_SOURCE_PREFIX: z._default(
    z.string().check(
      z.regex(/^[A-Za-z0-9._-]+\/([A-Za-z0-9._-]+\/)*$/, 'must be a folder such as sources/ (ending in "/")'),
      z.refine(
        (value) =>
          !['incoming/', 'processed/', 'failed/', 'unconfirmed/'].some((folder) => value.startsWith(folder)),
        'must not be under incoming/, processed/, failed/ or unconfirmed/',
      ),
    ),
    'sources/',
  ),
  DGS_API_BASE_URL: z._default(secureUrl, PRODUCTION_BASE_URL),
  DGS_API_KEY: z.optional(z.string().check(z.minLength(1))),
  DGS_API_KEY_PARAMETER: z.optional(z.string().check(z.startsWith('/'))),
  DGS_API_KEY_MAX_AGE_SECONDS: z._default(nonNegativeInt, 300),
  DGS_REQUEST_TIMEOUT_MS: z._default(positiveInt, 30_000),
  DGS_MAX_ATTEMPTS: z._default(positiveInt, 4),
  UPLOAD_ALLOWED_ORIGINS: z._default(
    z.pipe(
      commaList,
      z
        .array(
          z
            .string()
            .check(
              z.regex(
                ORIGIN,
                'each entry must be an origin, https://host[:port], optionally with a path prefix ending in "/" (https://host/bucket/); "*." allowed before the host',
              ),
            ),
        )
        .check(z.minLength(1, 'list at least one origin')),
    ),
    DEFAULT_UPLOAD_ORIGINS,
  ),
  UPLOAD_MAX_ATTEMPTS: z._default(positiveInt, 3),
  UPLOAD_IDLE_TIMEOUT_SECONDS: z._default(positiveInt, 120),
  /** A conservative S3-to-data.gov.sg throughput: a send that would not finish in the time left is handed over. */
  UPLOAD_ASSUMED_MIB_PER_SECOND: z._default(z.coerce.number().check(z.positive()), 16),
  /**
   * Between the two reads that confirm data.gov.sg is idle before a send (0: one read). Unset, it
   * is POLL_FIRST_WAIT_SECONDS: the wait after which a status is taken to be fresh.
   */
  IDLE_CONFIRM_SECONDS: z.optional(nonNegativeInt),
  MAX_TAKEOVERS: z._default(nonNegativeInt, 3),
  MAX_FILE_BYTES: z._default(positiveInt.check(z.lte(MAX_UPLOAD_BYTES)), MAX_UPLOAD_BYTES),
  POLL_FIRST_WAIT_SECONDS: z._default(positiveInt, 30),
  /**
   * Each status check comes this many times as long after the upload as the one before (see
   * nextWait). 1.46 is the smallest rate in hundredths that reaches 10 minutes by the 9th check
   * (30 state transitions) from a 30 s first wait (20^(1/8) = 1.454); an ingestion is then seen
   * within 46% of its length. Above 1: at 1 every wait would be 0.
   */
  POLL_BACKOFF_RATE: z._default(z.coerce.number().check(z.gt(1)), 1.46),
  POLL_MAX_WAIT_SECONDS: z._default(positiveInt, 300),
  /**
   * Polling gives up (the file is filed unconfirmed) this long after the send. Nothing documents
   * how long an ingestion may take; a day (MAX_WAIT_SECONDS, the wait already allowed through an
   * outage) and an hour, so an ingestion of up to a day ends published or failed. Three such
   * phases (two re-uploads) stay within Step Functions' 25,000 history events (test/statemachines).
   */
  POLL_DEADLINE_SECONDS: z._default(positiveInt, 25 * 3600),
  REUPLOAD_MAX_ATTEMPTS: z._default(nonNegativeInt, 2),
  REUPLOAD_FIRST_WAIT_SECONDS: z._default(positiveInt, 120),
  UNCONFIRMED_GRACE_POLLS: z._default(positiveInt, 3),
  UNCONFIRMED_GRACE_SECONDS: z._default(nonNegativeInt, 600),
  LOCK_UPLOAD_LEASE_SECONDS: z._default(positiveInt, 960),
  LOCK_POLL_LEASE_SECONDS: z._default(positiveInt, 1200),
  SWEEP_MIN_AGE_SECONDS: z._default(nonNegativeInt, 600),
  MAX_WAIT_SECONDS: z._default(positiveInt, 86_400),
  FORWARDER_FUNCTION_NAME: z.optional(z.string().check(z.minLength(1))),
  PP_BASE_URL: z.optional(secureUrl),
  PP_TOKEN_PARAMETER_PREFIX: z.optional(z.string().check(z.startsWith('/'))),
  PP_TOKEN: z.optional(z.string().check(z.minLength(1))),
  PP_CHUNK_SIZE: z._default(positiveInt.check(z.lte(10_000)), 100),
  PP_GZIP_ABOVE_BYTES: z._default(nonNegativeInt, 2048),
  PP_GENERATE_IDS: z._default(onOff, true),
  PP_REQUEST_TIMEOUT_MS: z._default(positiveInt, 30_000),
  PP_MAX_ATTEMPTS: z._default(positiveInt, 5),
  PP_TOTAL_TIME_MS: z._default(positiveInt, 120_000),
  /** Chunks in flight at once (1: one after another); docs/architecture.md says why 4. */
  // 1 by default: a data set with auto_ids stores records under an id the forwarder cannot see, so
  // only an operator who knows a data set has none may let chunks overlap (docs/architecture.md).
  PP_CONCURRENCY: z._default(positiveInt.check(z.lte(16)), 1),
  /**
   * The HTTP route's whole time (API Gateway ends a request at 30 s): every attempt and retry of
   * a synchronous forward fits in it.
   */
  // Within forwarderHttp's 28 s timeout, with room to answer.
  PP_HTTP_BUDGET_MS: z._default(positiveInt.check(z.lte(26_000)), 25_000),
  /** More records than this in one HTTP request are answered 202 and forwarded as a file. */
  PP_HTTP_SYNC_MAX_RECORDS: z._default(positiveInt, 1000),
  PP_MAX_JSON_BYTES: z._default(positiveInt, 64 * 1024 * 1024),
  /** How long a forwarder run holds a dropped file: above the function's 900 s, as the upload lease. */
  PP_FILE_LEASE_SECONDS: z._default(positiveInt, 960),
  CSV_CHECK: z._default(onOff, true),
  CSV_CHECK_MAX_PROBLEMS: z._default(positiveInt.check(z.lte(1000)), 20),
});

/** Every setting's name, as the environment spells it. */
export const SETTING_NAMES: readonly string[] = Object.keys(settingsSchema.shape);

/** What each setting is when its variable is unset (undefined: no default). */
export function settingDefaults(): Record<string, unknown> {
  return z.parse(settingsSchema, {});
}

export type Settings = Omit<z.infer<typeof settingsSchema>, 'IDLE_CONFIRM_SECONDS'> & {
  IDLE_CONFIRM_SECONDS: number;
};
type Env = Record<string, string | undefined>;

/**
 * Reads the settings from an environment. Every invalid value is reported in one message.
 * Empty strings count as unset, so a blank variable in a shell or template means "default".
 */
export function loadSettings(env: Env = process.env): Settings {
  const present = Object.fromEntries(
    SETTING_NAMES.map((name) => [name, env[name]]).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = z
    .pipe(
      settingsSchema,
      z.transform((settings) => ({
        ...settings,
        IDLE_CONFIRM_SECONDS: settings.IDLE_CONFIRM_SECONDS ?? settings.POLL_FIRST_WAIT_SECONDS,
      })),
    )
    .safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  return parsed.data;
}

type OptionalName = {
  [K in keyof Settings]-?: undefined extends Settings[K] ? K : never;
}[keyof Settings];

/** Returns settings with the named optional entries guaranteed; lists every missing one. */
export function requireSettings<const N extends OptionalName>(
  settings: Settings,
  names: readonly N[],
): Settings & { [K in N]-?: NonNullable<Settings[K]> } {
  const missing = names.filter((name) => settings[name] === undefined);
  if (missing.length > 0) {
    throw new ConfigError(`Missing configuration: ${missing.join(', ')}`);
  }
  return settings as Settings & { [K in N]-?: NonNullable<Settings[K]> };
}
