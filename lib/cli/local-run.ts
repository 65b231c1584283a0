import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from '../zod.js';

/**
 * Where `npm start` says it is running, for the CLI to find it: endpoints and the bucket name,
 * never a secret (s3rver's keys are its well-known defaults). GOVPUB_LOCAL_RUN_FILE moves it, so
 * that tests (and a second checkout) never read another run's file.
 */
export function localRunFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.GOVPUB_LOCAL_RUN_FILE || fileURLToPath(new URL('../../.govpub/local-run.json', import.meta.url));
}

const localRunSchema = z.object({
  pid: z.number().check(z.int(), z.positive()),
  bucket: z.string().check(z.minLength(1)),
  s3Endpoint: z.url(),
  /** Its pipeline publishes to the local data.gov.sg stand-in (so it knows the sample aliases). */
  dataGovSgIsLocal: z.boolean(),
  startedAt: z.string(),
});

export type LocalRun = z.infer<typeof localRunSchema>;

export function writeLocalRun(run: LocalRun, file = localRunFile()): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(run, null, 2)}\n`);
}

/** Removes the file, if it is still this run's (a later `npm start` may have replaced it). */
export function removeLocalRun(pid: number, file = localRunFile()): void {
  if (findLocalRun(file)?.pid === pid) rmSync(file, { force: true });
}

/** The local run, if its file is there and its process is alive; a stale file is ignored. */
export function findLocalRun(file = localRunFile()): LocalRun | undefined {
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    return undefined;
  }
  const run = localRunSchema.safeParse(parsed);
  if (!run.success || !isAlive(run.data.pid)) return undefined;
  return run.data;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, but another user's process.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
