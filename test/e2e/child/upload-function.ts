/**
 * Plays a Lambda container of the upload function: imports the deployed handler
 * (functions/upload-file.ts, wrapped in middy, its dependencies built from the environment as in
 * AWS) and calls it once with the event given as JSON in argv. Prints its result as one JSON line.
 * Tests point the environment at the local stand-ins (LocalPipeline.uploadFunctionEnvironment) and
 * kill this process to play a Lambda that dies mid-invocation.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { handler } from '../../../functions/upload-file.js';

const event = JSON.parse(process.argv[2] ?? 'null') as unknown;
const started = Date.now();
const TIMEOUT_MS = 900_000;
const context: Context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'govpub-local-upload',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:ap-southeast-1:000000000000:function:govpub-local-upload',
  memoryLimitInMB: '512',
  awsRequestId: randomUUID(),
  logGroupName: '/aws/lambda/govpub-local-upload',
  logStreamName: 'local',
  getRemainingTimeInMillis: () => Math.max(0, TIMEOUT_MS - (Date.now() - started)),
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

const result = await handler(event, context);
process.stdout.write(`${JSON.stringify({ result })}\n`);
