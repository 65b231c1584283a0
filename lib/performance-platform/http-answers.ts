import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { httpFailure, jsonResponse } from '../http-responses.js';
import type { ForwardResult } from './forward.js';
import { problemSummary } from './problems.js';

/** The answer to a forward: 200 when stored, 400 for invalid records, else what the failure means. */
export function resultResponse(result: ForwardResult): APIGatewayProxyStructuredResultV2 {
  // The failed chunk's cause (kind, status, the service's messages, token already redacted)
  // tells the caller whether sending again can help.
  const chunks = result.chunks.map(({ index, from, to, status, error }) => ({
    index,
    from,
    to,
    status,
    ...(error ? { error } : {}),
  }));
  if (result.outcome === 'forwarded' || result.outcome === 'empty') {
    return jsonResponse(200, {
      outcome: result.outcome,
      records: result.records,
      chunks,
      requestIds: result.requestIds,
    });
  }
  if (result.outcome === 'invalid') {
    // Each error has a plain-English message and backdrop's own text (backdropMessage).
    throw httpFailure(400, `${problemSummary(result)}; nothing was sent.`, {
      errors: result.errors,
      errorCount: result.errorCount ?? result.errors.length,
      recordsWithProblems: result.recordsWithProblems ?? 0,
    });
  }
  const failed = result.chunks.find((chunk) => chunk.status === 'failed');
  return failureResponse(result.dataGroup, result.dataType, failed?.error?.kind ?? 'http', chunks);
}

/** The answer when the write API did not store everything: whether sending again can help. */
export function failureResponse(
  dataGroup: string,
  dataType: string,
  kind: string,
  chunks: unknown[],
): APIGatewayProxyStructuredResultV2 {
  if (kind === 'not-found') {
    throw httpFailure(404, `The Performance Platform has no data set ${dataGroup}/${dataType}.`);
  }
  if (kind === 'unauthorised') {
    return jsonResponse(502, {
      message: 'The Performance Platform refused the token configured for this data set.',
      chunks,
    });
  }
  if (kind === 'validation' || kind === 'too-large') {
    return jsonResponse(502, {
      message: 'The Performance Platform rejected a chunk that passed our checks.',
      chunks,
    });
  }
  return jsonResponse(503, {
    message:
      'The Performance Platform did not store every chunk. Send the same request again: records have stable ids, so nothing is duplicated.',
    chunks,
  });
}
