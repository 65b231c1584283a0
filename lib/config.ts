import { z } from 'zod';
import { ConfigError } from './errors.js';
import { isLoopbackHost } from './loopback.js';

export const PRODUCTION_BASE_URL = 'https://api-production.data.gov.sg';
export const STAGING_BASE_URL = 'https://api-staging.data.gov.sg';
/** S3's single-PUT maximum, and data.gov.sg's documented upload limit. */
export const MAX_UPLOAD_BYTES = 5 * 1024 ** 3;
/**
 * Where data.gov.sg's upload links are known to point (reference: path-style, the
 * attachments.data.gov.sg bucket in ap-southeast-1), not any bucket of the region.
 */
export const DEFAULT_UPLOAD_ORIGINS = ['https://s3.ap-southeast-1.amazonaws.com/attachments.data.gov.sg/'];

const positiveInt = z.coerce.number().int().positive();
const nonNegativeInt = z.coerce.number().int().nonnegative();
const onOff = z
  .enum(['on', 'off', 'true', 'false', '1', '0'])
  .transform((value) => value === 'on' || value === 'true' || value === '1');
/**
 * An entry of the upload allow list (see parsePresignedUpload): an origin, optionally with a path
 * prefix that ends in "/" (so that `/bucket/` cannot match `/bucket.other/`).
 */
const ORIGIN = /^https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d+)?(\/([A-Za-z0-9._~-]+\/)*)?$/;
/** https, or http to this machine only (the local stand-ins): a key never travels in clear. */
const secureUrl = z
  .url()
  .refine((value) => {
    const url = URL.canParse(value) ? new URL(value) : undefined;
    return url?.protocol === 'https:' || (url?.protocol === 'http:' && isLoopbackHost(url.hostname));
  }, 'must be an https URL (plain http only to 127.0.0.1 or localhost)')
  // A password in a URL ends up wherever the URL is printed; keys and tokens have their own
  // settings (and SSM parameters). The message never repeats the value.
  .refine(
    (value) => !URL.canParse(value) || (new URL(value).username === '' && new URL(value).password === ''),
    'must not hold a user name or password (https://host, not https://user:password@host): give the key or token in its own setting',
  );
const commaList = z.string().transform((value) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
);

/**
 * The tunables of the pipeline, each with its env name and default. Everything is optional so
 * that one module serves every function; `requireSetting` enforces what a function needs.
 */
const settingsSchema = z.object({
  DROP_BUCKET: z.string().min(1).optional(),
  LOCK_TABLE_NAME: z.string().min(1).optional(),
  STATE_MACHINE_ARN: z.string().min(1).optional(),
  UPLOAD_FUNCTION_NAME: z.string().min(1).optional(),
  EVENT_BUS_NAME: z.string().min(1).default('default'),
  /**
   * Where objects outside incoming/ may be published from, per dataset: `<prefix><dataset>/…`
   * (the dataset's id or an alias), so a caller allowed one dataset cannot publish another's files.
   */
  COPY_SOURCE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]+\/([A-Za-z0-9._-]+\/)*$/, 'must be a folder such as sources/ (ending in "/")')
    .refine(
      (value) =>
        !['incoming/', 'processed/', 'failed/', 'unconfirmed/'].some((folder) => value.startsWith(folder)),
      'must not be under incoming/, processed/, failed/ or unconfirmed/',
    )
    .default('sources/'),
  DGS_API_BASE_URL: secureUrl.default(PRODUCTION_BASE_URL),
  DGS_API_KEY: z.string().min(1).optional(),
  DGS_API_KEY_PARAMETER: z.string().startsWith('/').optional(),
  DGS_API_KEY_MAX_AGE_SECONDS: nonNegativeInt.default(300),
  DGS_REQUEST_TIMEOUT_MS: positiveInt.default(30_000),
  DGS_MAX_ATTEMPTS: positiveInt.default(4),
  UPLOAD_ALLOWED_ORIGINS: commaList
    .pipe(
      z
        .array(
          z
            .string()
            .regex(
              ORIGIN,
              'each entry must be an origin, https://host[:port], optionally with a path prefix ending in "/" (https://host/bucket/); "*." allowed before the host',
            ),
        )
        .min(1, 'list at least one origin'),
    )
    .default(DEFAULT_UPLOAD_ORIGINS),
  UPLOAD_MAX_ATTEMPTS: positiveInt.default(3),
  UPLOAD_IDLE_TIMEOUT_SECONDS: positiveInt.default(120),
  /** A conservative S3-to-data.gov.sg throughput: a send that would not finish in the time left is handed over. */
  UPLOAD_ASSUMED_MIB_PER_SECOND: z.coerce.number().positive().default(16),
  /**
   * Between the two reads that confirm data.gov.sg is idle before a send (0: one read). Unset, it
   * is POLL_FIRST_WAIT_SECONDS: the wait after which a status is taken to be fresh.
   */
  IDLE_CONFIRM_SECONDS: nonNegativeInt.optional(),
  MAX_TAKEOVERS: nonNegativeInt.default(3),
  MAX_FILE_BYTES: positiveInt.max(MAX_UPLOAD_BYTES).default(MAX_UPLOAD_BYTES),
  POLL_FIRST_WAIT_SECONDS: positiveInt.default(30),
  /**
   * Each status check comes this many times as long after the upload as the one before (see
   * nextWait). 1.46 is the smallest rate in hundredths that reaches 10 minutes by the 9th check
   * (30 state transitions) from a 30 s first wait (20^(1/8) = 1.454); an ingestion is then seen
   * within 46% of its length. Above 1: at 1 every wait would be 0.
   */
  POLL_BACKOFF_RATE: z.coerce.number().gt(1).default(1.46),
  POLL_MAX_WAIT_SECONDS: positiveInt.default(300),
  /**
   * Polling gives up (the file is filed unconfirmed) this long after the send. Nothing documents
   * how long an ingestion may take; a day (MAX_WAIT_SECONDS, the wait already allowed through an
   * outage) and an hour, so an ingestion of up to a day ends published or failed. Three such
   * phases (two re-uploads) stay within Step Functions' 25,000 history events (test/statemachines).
   */
  POLL_DEADLINE_SECONDS: positiveInt.default(25 * 3600),
  REUPLOAD_MAX_ATTEMPTS: nonNegativeInt.default(2),
  REUPLOAD_FIRST_WAIT_SECONDS: positiveInt.default(120),
  UNCONFIRMED_GRACE_POLLS: positiveInt.default(3),
  UNCONFIRMED_GRACE_SECONDS: nonNegativeInt.default(600),
  LOCK_UPLOAD_LEASE_SECONDS: positiveInt.default(960),
  LOCK_POLL_LEASE_SECONDS: positiveInt.default(1200),
  SWEEP_MIN_AGE_SECONDS: nonNegativeInt.default(600),
  MAX_WAIT_SECONDS: positiveInt.default(86_400),
  FORWARDER_FUNCTION_NAME: z.string().min(1).optional(),
  PP_BASE_URL: secureUrl.optional(),
  PP_TOKEN_PARAMETER_PREFIX: z.string().startsWith('/').optional(),
  PP_TOKEN: z.string().min(1).optional(),
  PP_CHUNK_SIZE: positiveInt.max(10_000).default(100),
  PP_GZIP_ABOVE_BYTES: nonNegativeInt.default(2048),
  PP_GENERATE_IDS: onOff.default(true),
  PP_REQUEST_TIMEOUT_MS: positiveInt.default(30_000),
  PP_MAX_ATTEMPTS: positiveInt.default(5),
  PP_TOTAL_TIME_MS: positiveInt.default(120_000),
  /** Chunks in flight at once (1: one after another); docs/architecture.md says why 4. */
  // 1 by default: a data set with auto_ids stores records under an id the forwarder cannot see, so
  // only an operator who knows a data set has none may let chunks overlap (docs/architecture.md).
  PP_CONCURRENCY: positiveInt.max(16).default(1),
  /**
   * The HTTP route's whole time (API Gateway ends a request at 30 s): every attempt and retry of
   * a synchronous forward fits in it.
   */
  // Within forwarderHttp's 28 s timeout, with room to answer.
  PP_HTTP_BUDGET_MS: positiveInt.max(26_000).default(25_000),
  /** More records than this in one HTTP request are answered 202 and forwarded as a file. */
  PP_HTTP_SYNC_MAX_RECORDS: positiveInt.default(1000),
  PP_MAX_JSON_BYTES: positiveInt.default(64 * 1024 * 1024),
  /** How long a forwarder run holds a dropped file: above the function's 900 s, as the upload lease. */
  PP_FILE_LEASE_SECONDS: positiveInt.default(960),
  CSV_CHECK: onOff.default(true),
  CSV_CHECK_MAX_PROBLEMS: positiveInt.max(1000).default(20),
});

/** Every setting's name, as the environment spells it. */
export const SETTING_NAMES: readonly string[] = Object.keys(settingsSchema.shape);

/** What each setting is when its variable is unset (undefined: no default). */
export function settingDefaults(): Record<string, unknown> {
  return settingsSchema.parse({});
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
  const parsed = settingsSchema
    .transform((settings) => ({
      ...settings,
      IDLE_CONFIRM_SECONDS: settings.IDLE_CONFIRM_SECONDS ?? settings.POLL_FIRST_WAIT_SECONDS,
    }))
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
