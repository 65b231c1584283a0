import { readFileSync } from 'node:fs';
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import * as errors from '../../lib/errors.js';

type State = {
  Type: string;
  Next?: string;
  Default?: string;
  Choices?: Array<{ Next: string }>;
  Retry?: Array<{ ErrorEquals: string[] }>;
  Catch?: Array<{ ErrorEquals: string[]; Next: string }>;
  Resource?: unknown;
};
const definition = JSON.parse(readFileSync('statemachines/publish-dataset.asl.json', 'utf8')) as {
  StartAt: string;
  States: Record<string, State>;
};
const states = Object.entries(definition.States);
const errorNames = new Set(
  Object.values(errors)
    .filter((value) => typeof value === 'function')
    .map((ErrorClass) => ErrorClass.name),
);

function targets(state: State): string[] {
  return [
    state.Next,
    state.Default,
    ...(state.Choices ?? []).map((c) => c.Next),
    ...(state.Catch ?? []).map((c) => c.Next),
  ].filter((name): name is string => name !== undefined);
}

describe('statemachines/publish-dataset.asl.json as data', () => {
  it('is valid Amazon States Language once the function references are resolved', () => {
    const resolved = JSON.parse(
      JSON.stringify(definition).replace(
        /\{"Fn::GetAtt":\["(\w+)","Arn"\]\}/g,
        '"arn:aws:lambda:ap-southeast-1:000000000000:function:$1"',
      ),
    );
    const { isValid, errorsText } = aslValidator(resolved);
    expect(isValid, errorsText()).toBe(true);
  });

  it('reaches every state from StartAt and points only at states that exist', () => {
    const reached = new Set<string>();
    const queue = [definition.StartAt];
    while (queue.length > 0) {
      const name = queue.pop() as string;
      if (reached.has(name)) continue;
      const state = definition.States[name];
      expect(state, `${name} is referenced but not defined`).toBeDefined();
      reached.add(name);
      if (state) queue.push(...targets(state));
    }
    expect([...reached].sort()).toEqual(Object.keys(definition.States).sort());
  });

  it('gives every Lambda task a retry on Lambda service errors and a catch-all', () => {
    for (const [name, state] of states.filter(([, s]) => s.Type === 'Task')) {
      const retried = (state.Retry ?? []).flatMap((r) => r.ErrorEquals);
      expect(
        retried.includes('States.ALL') || retried.includes('Lambda.ServiceException'),
        `${name} retries Lambda errors`,
      ).toBe(true);
      expect(
        (state.Catch ?? []).some((c) => c.ErrorEquals.includes('States.ALL')),
        `${name} catches everything`,
      ).toBe(true);
    }
  });

  it('names only errors that lib/errors.ts defines, or the service’s own', () => {
    for (const [name, state] of states) {
      for (const errorName of [...(state.Retry ?? []), ...(state.Catch ?? [])].flatMap(
        (r) => r.ErrorEquals,
      )) {
        // Sandbox.Timedout is how Step Functions reports a Lambda that hit its own timeout.
        const known = /^(States|Lambda|Sandbox)\./.test(errorName) || errorNames.has(errorName);
        expect(known, `${name} names unknown error ${errorName}`).toBe(true);
      }
    }
  });

  it('never writes ResultPath "$" (the default means the same; aws-local-stepfunctions 3.0 mishandles it)', () => {
    for (const [name, state] of states) {
      expect((state as { ResultPath?: unknown }).ResultPath, name).not.toBe('$');
    }
  });

  it('files the outcome on every failure path of the polling tasks', () => {
    for (const name of ['CheckIngestionStatus', 'Reupload']) {
      const catchAll = definition.States[name]?.Catch?.find((c) => c.ErrorEquals.includes('States.ALL'));
      expect(catchAll?.Next, name).toBe('FileOutcome');
    }
  });
});
