import {
  ConfigError,
  CsvRejectedError,
  DatasetBusyError,
  DgsAuthError,
  DgsNotFoundError,
  DgsResponseError,
  DgsTransientError,
  DropRejectedError,
  PpSourceError,
  PpTokenMissingError,
  UploadFailedError,
  UploadUnconfirmedError,
  UploadUrlNotAllowedError,
} from '../errors.js';

/** The exit codes of every command; documented in lib/cli/README.md and `govpub --help`. */
export const EXIT = {
  ok: 0,
  other: 1,
  usage: 2,
  auth: 3,
  validation: 4,
  http: 5,
  connection: 6,
  timeout: 7,
  /** validate: no problem found, but the dataset's columns could not be read, so not all was checked. */
  incomplete: 8,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `Exit codes:
  0  success
  1  anything else (an unexpected error)
  2  usage: bad arguments, unknown dataset alias, missing or refused setting, file not readable
  3  auth: the data.gov.sg API key, the Performance Platform token or the AWS credentials were refused
  4  validation: CSV problems, invalid records, data.gov.sg's Validation Failed
  5  other HTTP error, not found, dataset busy, Ingestion Failed
  6  connection error (could not reach the service)
  7  timeout, including --wait's deadline
  8  validate: no problem found, but the dataset's columns could not be read (header and NUMERIC not checked)`;

/** A failure the command itself describes: one sentence, an exit code, optional hints and JSON details. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly hints: string[];
  readonly details: Record<string, unknown>;
  constructor(
    exitCode: ExitCode,
    message: string,
    options: { hints?: string[]; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.hints = options.hints ?? [];
    this.details = options.details ?? {};
  }
}

export interface Classified {
  exitCode: ExitCode;
  message: string;
  hints: string[];
  details: Record<string, unknown>;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const AWS_AUTH_NAMES = new Set([
  'CredentialsProviderError',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
]);

/** Maps any error to its exit code and one sentence a person can act on. */
export function classify(error: unknown): Classified {
  if (error instanceof CliError) {
    return { exitCode: error.exitCode, message: error.message, hints: error.hints, details: error.details };
  }
  const plain = (exitCode: ExitCode, message: string): Classified => ({
    exitCode,
    message: firstSentence(message),
    hints: [],
    details: {},
  });
  if (!(error instanceof Error)) return plain(EXIT.other, String(error));
  if (error instanceof ConfigError) return plain(EXIT.usage, error.message);
  if (error instanceof PpTokenMissingError) {
    return plain(
      EXIT.usage,
      `${error.message}; set PP_TOKEN (or PP_TOKEN_PARAMETER_PREFIX to read it from SSM).`,
    );
  }
  if (error instanceof DropRejectedError) {
    const fileProblem = error.code === 'EMPTY_FILE' || error.code === 'TOO_LARGE';
    return plain(fileProblem ? EXIT.validation : EXIT.usage, error.message);
  }
  if (error instanceof DgsAuthError) return plain(EXIT.auth, error.message);
  if (error instanceof CsvRejectedError || error instanceof PpSourceError) {
    return plain(EXIT.validation, error.message);
  }
  if (error instanceof DgsTransientError) {
    if (error.kind === 'network') return plain(EXIT.connection, error.message);
    if (error.kind === 'timeout') return plain(EXIT.timeout, error.message);
    return plain(EXIT.http, error.message);
  }
  if (
    error instanceof DgsNotFoundError ||
    error instanceof DgsResponseError ||
    error instanceof DatasetBusyError
  ) {
    return plain(EXIT.http, error.message);
  }
  if (error instanceof UploadUrlNotAllowedError) {
    // A setting to fix (UPLOAD_ALLOWED_ORIGINS), not an unexpected error.
    return {
      ...plain(EXIT.usage, error.message),
      hints: [
        'UPLOAD_ALLOWED_ORIGINS lists where uploads may go; data.gov.sg links point at S3 in ap-southeast-1.',
      ],
    };
  }
  if (error instanceof UploadFailedError || error instanceof UploadUnconfirmedError) {
    if (error instanceof UploadFailedError && error.status !== undefined)
      return plain(EXIT.http, error.message);
    return plain(codeOf(error.cause) === 'ETIMEDOUT' ? EXIT.timeout : EXIT.connection, error.message);
  }
  return classifySystemError(error);
}

/** AWS SDK, fetch and file-system errors, by their names and codes. */
function classifySystemError(error: Error): Classified {
  const plain = (exitCode: ExitCode, message: string, hints: string[] = []): Classified => ({
    exitCode,
    message: firstSentence(message),
    hints,
    details: {},
  });
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const code = codeOf(error) ?? codeOf(error.cause);
  if (AWS_AUTH_NAMES.has(error.name) || status === 401 || status === 403) {
    const what =
      error.name === 'CredentialsProviderError'
        ? 'No AWS credentials were found'
        : `AWS refused the request (${error.name})`;
    return plain(EXIT.auth, `${what}: ${error.message}`, [
      'Check the AWS credentials (AWS_PROFILE, aws sso login, or the instance role) and that they may write to the bucket.',
    ]);
  }
  if (error.name === 'NoSuchBucket') return plain(EXIT.http, `The bucket does not exist: ${error.message}`);
  if (/region is missing/i.test(error.message)) {
    return plain(
      EXIT.usage,
      'No AWS region is configured; set AWS_REGION (the stack region, e.g. ap-southeast-1).',
    );
  }
  if (error.name === 'TimeoutError' || code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT') {
    return plain(EXIT.timeout, error.message);
  }
  if (code !== undefined && NETWORK_CODES.has(code)) {
    return plain(EXIT.connection, `Could not connect (${code}): ${error.message}`);
  }
  if (status !== undefined) return plain(EXIT.http, `${error.name} (HTTP ${status}): ${error.message}`);
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'ENOTDIR') {
    const path = (error as NodeJS.ErrnoException).path;
    return plain(EXIT.usage, `Cannot read ${path ?? 'the file'} (${code}).`);
  }
  return plain(EXIT.other, error.message || error.name);
}

function codeOf(value: unknown): string | undefined {
  const code = (value as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The first sentence of a library message (several of them carry advice in further sentences),
 * ending with a full stop.
 */
export function firstSentence(message: string): string {
  const trimmed = message.trim().replace(/\s+/g, ' ');
  const end = trimmed.search(/[.!?]\s+(?=[A-Z])/);
  const sentence = end === -1 ? trimmed : trimmed.slice(0, end + 1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}
