import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noMetrics } from '../../../../lib/metrics.js';
import type { SendOutcome } from '../../../../lib/performance-platform/client.js';
import { forwardRecords } from '../../../../lib/performance-platform/forward.js';
import {
  problemSummary,
  type RecordProblem,
  recordProblems,
} from '../../../../lib/performance-platform/problems.js';
import { type DataSetRules, inspectRecords } from '../../../../lib/performance-platform/records.js';
import {
  type LocalDataSetConfig,
  type LocalPerformancePlatform,
  startLocalPerformancePlatform,
} from '../../../../local/performance-platform/server.js';
import { recordingLog } from '../../../fakes/recording-log.js';
import { GENERATED_DATA_SETS, generatedBatch } from '../../../support/invalid-records.js';

// Seeds 1–300: every kind of break on every data set, batches of 1–6 records.
const SEEDS = Array.from({ length: 300 }, (_, i) => i + 1);

let pp: LocalPerformancePlatform;

beforeAll(async () => {
  pp = await startLocalPerformancePlatform({ dataSets: [...GENERATED_DATA_SETS] });
});

afterAll(async () => {
  await pp?.close();
});

/** What the local write API answers for a batch: its status and its `messages` (none on a 200). */
async function standIn(
  dataSet: LocalDataSetConfig,
  records: unknown[],
): Promise<{ status: number; messages: string[] }> {
  const response = await fetch(`${pp.baseUrl}/data/${dataSet.dataGroup}/${dataSet.dataType}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${dataSet.bearerToken}`, 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(records)),
  });
  const body = (await response.json()) as { messages?: string[] };
  return { status: response.status, messages: body.messages ?? [] };
}

function rulesOf(dataSet: LocalDataSetConfig): DataSetRules {
  return { dataGroup: dataSet.dataGroup, dataType: dataSet.dataType, autoIds: dataSet.autoIds ?? [] };
}

/** A client for the batches that pass: every chunk is stored. */
const storingClient = {
  post: async (): Promise<SendOutcome> => ({ ok: true, status: 200, attempts: 1, requestId: 'r' }),
};

/** Where a field of a record comes: missing fields first, then the record's own in its order. */
function fieldPlace(records: readonly unknown[], problem: RecordProblem): number {
  if (problem.field === undefined) return -2;
  const record = records[problem.index];
  return typeof record === 'object' && record !== null ? Object.keys(record).indexOf(problem.field) : -1;
}

describe('recordProblems over generated batches, against the local write API', () => {
  it.each(SEEDS)('seed %i', async (seed) => {
    // Prepare
    const { dataSet, records } = generatedBatch(seed);
    const rules = rulesOf(dataSet);

    // Act
    const problems = recordProblems(records, rules);
    const answer = await standIn(dataSet, records);
    const result = await forwardRecords(
      { client: storingClient, log: recordingLog(), metrics: noMetrics },
      { dataGroup: dataSet.dataGroup, dataType: dataSet.dataType, records, autoIds: rules.autoIds ?? [] },
    );

    // Assess: the stand-in answers with validateRecords' texts, and refuses exactly what has problems.
    expect(answer.messages).toEqual(inspectRecords(records, rules).messages.map((error) => error.message));
    expect(answer.status).toBe(problems.length > 0 ? 400 : 200);

    // One problem per (record, field), sorted by record, then missing fields, then the record's order.
    const keys = problems.map((problem) => JSON.stringify([problem.index, problem.field ?? null]));
    expect(new Set(keys).size).toBe(keys.length);
    for (const [previous, next] of problems.slice(1).map((problem, i) => [problems[i], problem] as const)) {
      if (!previous) continue;
      expect(previous.index).toBeLessThanOrEqual(next.index);
      if (previous.index === next.index) {
        const [a, b] = [fieldPlace(records, previous), fieldPlace(records, next)];
        expect(a === -1 && b === -1 ? true : a < b, JSON.stringify([previous, next])).toBe(true);
      }
    }

    // Every backdropMessage is what the write API answered; every (record, field) it spoke of has one.
    for (const problem of problems) expect(answer.messages).toContain(problem.backdropMessage);
    const spokenOf = new Set(
      inspectRecords(records, rules).findings.map((finding) =>
        JSON.stringify([finding.index, finding.field ?? null]),
      ),
    );
    expect(new Set(keys)).toEqual(spokenOf);

    // Plain English, not Python reprs.
    for (const problem of problems) {
      expect(problem.message).not.toMatch(/\bu'|\bNone\b|\bTrue\b|\bFalse\b/);
      expect(problem.message).not.toBe(problem.backdropMessage);
    }

    // The forwarder's result carries the same list and consistent counts.
    if (problems.length === 0) {
      expect(result.outcome).toBe('forwarded');
      return;
    }
    const withProblems = new Set(problems.map((problem) => problem.index)).size;
    expect(result).toMatchObject({
      outcome: 'invalid',
      errors: problems,
      errorCount: problems.length,
      recordsWithProblems: withProblems,
    });
    expect(problemSummary(result)).toBe(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in ${withProblems} of ${records.length} record${records.length === 1 ? '' : 's'}`,
    );
  });

  it.each(SEEDS.slice(0, 100))('seed %i, each record alone', async (seed) => {
    const { dataSet, records } = generatedBatch(seed);
    for (const record of records) {
      const problems = recordProblems([record], rulesOf(dataSet));
      const answer = await standIn(dataSet, [record]);
      expect(answer.status, JSON.stringify(record)).toBe(problems.length > 0 ? 400 : 200);
      for (const problem of problems) expect(answer.messages).toContain(problem.backdropMessage);
    }
  });
});
