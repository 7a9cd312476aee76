/** Messages between `parallel.ts` and its fit workers. */
import type { FitOptions, ResponseData } from '../bkt/index.js';
import type { FitUnit, KickOutcome, KickUnit, RestartOutcome } from '../bkt/fit.js';

export interface WorkerInput {
  readonly data: ResponseData;
  /**
   * A stage's work: restart units, then kick units, each largest first. Workers take the next index from `next`;
   * an index past the restart units is a kick unit. A fit runs its restarts as one stage and its kicks as the next.
   */
  readonly units: readonly FitUnit[];
  readonly kicks: readonly KickUnit[];
  readonly options: FitOptions;
  /** Shared counter: the index of the next unit to take. */
  readonly next: Int32Array;
  /** Nice value for the worker thread (Linux sets it per thread), or null to leave it. */
  readonly niceness: number | null;
}

/** Sent to a worker for each stage of a fit it helps with. */
export interface WorkerJob {
  readonly job: number;
  readonly input: WorkerInput;
}

/** One finished unit: a restart, or a concept's kicks. `index` is within `units` or within `kicks`. */
export type WorkDone =
  | { kind: 'unit'; index: number; outcome: RestartOutcome }
  | { kind: 'kick'; index: number; outcome: KickOutcome };

export type WorkerMessage = (WorkDone & { job: number }) | { kind: 'done'; job: number };
