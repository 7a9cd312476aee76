/** Messages between `parallel.ts` and its fit workers. */
import type { FitOptions, ResponseData } from '../bkt/index.js';
import type { FitUnit, RestartOutcome } from '../bkt/fit.js';

export interface WorkerInput {
  readonly data: ResponseData;
  /** All units, largest first; workers take the next index from `next`. */
  readonly units: readonly FitUnit[];
  readonly options: FitOptions;
  /** Shared counter: the index of the next unit to take. */
  readonly next: Int32Array;
  /** Nice value for the worker thread (Linux sets it per thread), or null to leave it. */
  readonly niceness: number | null;
}

/** Sent to a worker for each fit it helps with. */
export interface WorkerJob {
  readonly job: number;
  readonly input: WorkerInput;
}

export type WorkerMessage =
  | { kind: 'unit'; job: number; index: number; outcome: RestartOutcome }
  | { kind: 'done'; job: number };
