import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import packageJson from '../../package.json' with { type: 'json' };
import type { CommonOptions } from './common.js';
import { EXIT, EXIT_CODES_HELP, type ExitCode } from './exit.js';
import { Output, secretsFromEnv } from './output.js';

const ENVIRONMENT_HELP = `Environment:
  DGS_API_BASE_URL, DGS_API_KEY   data.gov.sg API (default production) and its key
  UPLOAD_ALLOWED_ORIGINS          where presigned uploads may go
  PP_BASE_URL, PP_TOKEN           Performance Platform write API and the data set's bearer token
  DROP_BUCKET                     the drop bucket (or --bucket; else a running npm start's)
  Every other setting of README.md's Configuration applies too (POLL_*, CSV_CHECK, PP_*, ...).`;

/** A command module's entry: the output, its arguments in order, then its options. */
type CommandFunction = (out: Output, ...args: never[]) => Promise<ExitCode>;

/** Runs one command line; resolves with the exit code (never exits the process itself). */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT.ok;
  const run =
    (name: string, load: () => Promise<CommandFunction>) =>
    async (...received: unknown[]): Promise<void> => {
      // commander passes the arguments, then the options, then the command.
      const args = received.slice(0, -2);
      const options = received.at(-2) as CommonOptions;
      const out = new Output({
        json: Boolean(options.json),
        debug: Boolean(options.debug),
        secrets: secretsFromEnv(),
      });
      try {
        const command = (await load()) as (out: Output, ...rest: unknown[]) => Promise<ExitCode>;
        exitCode = await command(out, ...args, options);
      } catch (error) {
        exitCode = out.fail(name, error);
      }
    };

  const program = new Command('govpub')
    .description('Publish CSV files to data.gov.sg and records to a Performance Platform write API.')
    .version(packageJson.version)
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', `\n${EXIT_CODES_HELP}\n\n${ENVIRONMENT_HELP}\n`);

  const dataset = '--dataset <id>';
  const datasetHelp = 'datasetId, or an alias from config/datasets.json';

  common(
    program
      .command('whoami')
      .description(
        "Check the data.gov.sg API key: step 2 of data.gov.sg's Write APIs guide, Verify API Connectivity.",
      ),
  ).action(run('whoami', async () => (await import('./whoami.js')).whoami));

  common(
    program
      .command('publish')
      .description('Publish a local CSV file to a data.gov.sg dataset, streamed, checked on the way.')
      .argument('<file>', 'the CSV file')
      .requiredOption(dataset, datasetHelp)
      .option('--append', 'add the rows to the dataset')
      .option('--replace', 'replace the whole dataset')
      .option(
        '--new-columns',
        'with --replace: the file changes the columns on purpose (no COLUMNS_DO_NOT_MATCH)',
      )
      .option('--wait', 'follow the ingestion status until it ends')
      .option('--no-check', 'send without the CSV check (CSV_CHECK=off does the same)')
      .addOption(
        new Option(
          '--timeout <seconds>',
          'with --wait, give up after this long (default POLL_DEADLINE_SECONDS)',
        ).argParser(positiveNumber),
      )
      .addOption(
        new Option('--poll-interval-ms <ms>', 'with --wait, a fixed wait between status checks').argParser(
          positiveNumber,
        ),
      ),
  ).action(run('publish', async () => (await import('./publish.js')).publish));

  common(
    program
      .command('status')
      .description(
        'Show the latest ingestion status of a dataset, and with a drop bucket its latest filed outcomes.',
      )
      .argument('<dataset>', 'datasetId or alias')
      .option(
        '--bucket <name>',
        'the drop bucket whose outcomes to list (default DROP_BUCKET, else the running npm start)',
      )
      .option('--endpoint <url>', "an S3 endpoint such as the local run's s3rver (path style, its keys)"),
  ).action(run('status', async () => (await import('./status.js')).status));

  common(
    program
      .command('validate')
      .description("Check a CSV file as the pipeline would, against the dataset's columns (no key needed).")
      .argument('<file>', 'the CSV file')
      .requiredOption(dataset, datasetHelp)
      .option('--append', 'check it as rows to add (the default: the stricter check)')
      .option('--replace', 'check it as a replacement of the whole dataset')
      .option('--new-columns', 'with --replace: the file changes the columns on purpose')
      .option(
        '--columns <file>',
        "the dataset's columns from a file, offline: a saved answer of the public metadata endpoint, or names (JSON array, or comma or line separated)",
      ),
  ).action(run('validate', async () => (await import('./validate.js')).validate));

  const where = (command: Command) =>
    command
      .option('--bucket <name>', 'the drop bucket (default DROP_BUCKET, else the running npm start)')
      .option('--endpoint <url>', "an S3 endpoint such as the local run's s3rver (path style, its keys)");

  common(
    where(
      program
        .command('reports')
        .description(
          'List the latest filed outcomes in the drop bucket, newest first, with their report keys.',
        )
        .option('--dataset <id>', `only this dataset (${datasetHelp})`)
        .option('--failed', 'only what was not published: failed/ and unconfirmed/')
        .option('--since <when>', 'only those filed since: a duration (30m, 24h, 7d) or a date (2026-12-01)')
        .addOption(
          new Option('--limit <n>', 'show at most this many (default 20)').argParser(positiveInteger),
        ),
    ),
  ).action(run('reports', async () => (await import('./reports.js')).reports));

  common(
    where(
      program
        .command('report')
        .description('Show one report: what happened to the file, what was wrong, where it is now.')
        .argument('<key>', 'the report key (or the filed file key, or s3://bucket/key) as reports lists it'),
    ),
  ).action(run('report', async () => (await import('./reports.js')).report));

  const pp = program
    .command('pp')
    .description('Send records to a Performance Platform (backdrop-compatible) write API.');
  common(
    pp
      .command('send')
      .description('Validate records, then send them in chunks (PP_BASE_URL, PP_TOKEN).')
      .argument('<group>', 'data group')
      .argument('<type>', 'data type')
      .argument('[file]', 'a JSON array or object, or NDJSON; - or absent for stdin')
      .option('--ndjson', 'read one JSON record per line (the default for .ndjson files)'),
  ).action(run('pp send', async () => (await import('./pp.js')).ppSend));
  common(
    pp
      .command('empty')
      .description('Empty a data set (PUT []).')
      .argument('<group>', 'data group')
      .argument('<type>', 'data type'),
  ).action(run('pp empty', async () => (await import('./pp.js')).ppEmpty));

  common(
    program
      .command('drop')
      .description('Put a CSV file into the drop bucket at incoming/<dataset>/<mode>/<file name>.')
      .argument('<file>', 'the CSV file')
      .requiredOption(dataset, datasetHelp)
      .option('--append', 'add the rows to the dataset')
      .option('--replace', 'replace the whole dataset')
      .option(
        '--new-columns',
        'with --replace: drop it under replace-new-columns/ (the columns change on purpose)',
      )
      .option('--bucket <name>', 'the drop bucket (default DROP_BUCKET, else the running npm start)')
      .option('--endpoint <url>', "an S3 endpoint such as the local run's s3rver (path style, its keys)"),
  ).action(run('drop', async () => (await import('./drop.js')).drop));

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    // commander has printed its message or the help already.
    const shown = error.code === 'commander.helpDisplayed' || error.code === 'commander.version';
    return shown ? EXIT.ok : EXIT.usage;
  }
  return exitCode;
}

function common(command: Command): Command {
  return command
    .option('--json', 'print one JSON object on stdout (human lines go to stderr)')
    .option('--debug', 'print stack traces and what the library logs, on stderr')
    .addHelpText('after', `\n${EXIT_CODES_HELP}\n`);
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0)
    throw new InvalidArgumentError('Not a positive whole number.');
  return parsed;
}

function positiveNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError('Not a positive number.');
  return parsed;
}

/** Runs the command line of this process and exits once its output is written. */
export async function runCli(): Promise<void> {
  // A reader that went away (`govpub … | head`) is no error of ours.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(process.exitCode ?? EXIT.ok);
    });
  }
  let code: number;
  try {
    code = await main();
  } catch (error) {
    process.stderr.write(`govpub: ${error instanceof Error ? error.message : String(error)}\n`);
    code = EXIT.other;
  }
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  await new Promise<void>((resolve) => process.stderr.write('', () => resolve()));
  process.exit(code);
}
