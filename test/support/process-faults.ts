import { AsyncLocalStorage } from 'node:async_hooks';
import { type Readable, Transform } from 'node:stream';
import type { CallTarget, PipelineInterceptor } from '../../local/pipeline.js';

/** One call a function is about to make, as a kill plan sees it. */
export interface CallPoint {
  target: CallTarget;
  operation: string;
  /** 1 for the invocation's first call. */
  index: number;
  /** Bytes of drop-bucket objects this invocation has read so far (a send's body). */
  bodyBytes: number;
  /** Whether a body this invocation read was read to its end (a send went out whole). */
  bodyDone: boolean;
}

/**
 * Where an invocation dies: at the first call `atCall` accepts (that call is never made), or
 * once `atBodyByte` bytes of a body were read (the stream is cut there, as a killed process's
 * socket is). A dead invocation makes no further call: each one never returns.
 */
export interface KillPlan {
  atCall?: (call: CallPoint) => boolean;
  atBodyByte?: number;
  /** Dies once its work is done, before it answers (its result is lost). */
  atEnd?: boolean;
}

export interface Kill {
  invocation: string;
  /** What it was doing: the call it never made, or the body byte it stopped at. */
  at: string;
}

interface Run {
  name: string;
  plan: KillPlan | undefined;
  calls: number;
  bodyBytes: number;
  bodyDone: boolean;
  dead: boolean;
  die: () => void;
  bodies: Set<Readable>;
}

const NEVER = new Promise<never>(() => {});

/**
 * Kills and call failures for the local pipeline's functions, in process: each invocation runs
 * in an async context, so the hooks know whose call they see. A killed invocation ends as a
 * Lambda killed at its time limit does (`Sandbox.Timedout`, which the state machine's Retry and
 * Lambda's async retries act on), and nothing it would have done afterwards happens: its pending
 * and later calls never return, its open bodies are destroyed.
 */
export class ProcessFaults implements PipelineInterceptor {
  readonly #context = new AsyncLocalStorage<Run>();
  readonly #attempts = new Map<string, number>();
  readonly kills: Kill[] = [];
  /** The plan of an invocation, by function or task name and its count (1 = the first). */
  plan: (name: string, count: number) => KillPlan | undefined = () => undefined;
  /** A failure for a call (a store outage), or undefined to let it through. */
  fail: (target: CallTarget, operation: string, invocation: string) => Error | undefined = () => undefined;

  invocation<T>(name: string, run: () => Promise<T>): Promise<T> {
    const count = (this.#attempts.get(name) ?? 0) + 1;
    this.#attempts.set(name, count);
    let die: () => void = () => {};
    const killed = new Promise<never>((_, reject) => {
      die = () => reject(Object.assign(new Error(`${name} was killed (test)`), { name: 'Sandbox.Timedout' }));
    });
    const state: Run = {
      name,
      plan: this.plan(name, count),
      calls: 0,
      bodyBytes: 0,
      bodyDone: false,
      dead: false,
      die,
      bodies: new Set(),
    };
    const work = this.#context.run(state, run).then((result) => {
      if (!state.plan?.atEnd || state.dead) return result;
      this.#kill(state, 'the end of its work, before answering');
      return NEVER;
    });
    return Promise.race([work, killed]);
  }

  beforeCall(target: CallTarget, operation: string): Promise<void> | undefined {
    const run = this.#context.getStore();
    if (!run) return undefined;
    if (run.dead) return NEVER;
    run.calls += 1;
    const point = { target, operation, index: run.calls, bodyBytes: run.bodyBytes, bodyDone: run.bodyDone };
    if (run.plan?.atCall?.(point)) {
      this.#kill(run, `${target} ${operation} (call ${run.calls})`);
      return NEVER;
    }
    const failure = this.fail(target, operation, run.name);
    if (failure) throw failure;
    return undefined;
  }

  body(body: Readable): Readable {
    const run = this.#context.getStore();
    if (!run) return body;
    const cutAt = run.plan?.atBodyByte;
    const counted = new Transform({
      transform: (chunk: Buffer, _encoding, callback) => {
        if (run.dead) return;
        if (cutAt !== undefined && run.bodyBytes + chunk.length >= cutAt) {
          const keep = cutAt - run.bodyBytes;
          run.bodyBytes = cutAt;
          if (keep > 0) counted.push(chunk.subarray(0, keep));
          this.#kill(run, `body byte ${cutAt}`);
          return;
        }
        run.bodyBytes += chunk.length;
        callback(null, chunk);
      },
      flush: (callback) => {
        run.bodyDone = true;
        callback();
      },
    });
    body.on('error', (error) => counted.destroy(error));
    run.bodies.add(counted);
    counted.on('close', () => {
      run.bodies.delete(counted);
      // A killed process's connection to S3 closes too.
      if (!body.readableEnded) body.destroy();
    });
    return body.pipe(counted);
  }

  #kill(run: Run, at: string): void {
    run.dead = true;
    this.kills.push({ invocation: run.name, at });
    for (const body of run.bodies) {
      body.destroy(Object.assign(new Error('socket hang up (killed)'), { code: 'ECONNRESET' }));
    }
    run.die();
  }
}
