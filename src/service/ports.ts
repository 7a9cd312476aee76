/**
 * The ports the mastery use cases need, declared here and implemented by adapters (src/store). Only as wide as the
 * use cases need: the store owns SQL and transactions; the service owns every number.
 */
import type { BktParams, MasteryState } from '../bkt/index.js';

/**
 * Which parameters computed a history row: the item's own values over its concept's parameters, the concept's
 * own parameters, or the built-in defaults (a concept with no stored parameters).
 */
export type ParamsOrigin = 'item' | 'concept' | 'default';

/** Longest item id accepted (characters). */
export const MAX_ITEM_ID_LENGTH = 200;

export interface PairKey {
  readonly studentId: string;
  readonly conceptId: string;
}

/** A (student, concept) row as stored. */
export interface StoredPair extends PairKey {
  readonly state: MasteryState;
  readonly version: number;
  readonly nResponses: number;
  readonly nCorrect: number;
  readonly paramsVersion: number;
  /** ISO time of the last write, or null for a row that has never been written. */
  readonly updatedAt: string | null;
}

/** A history row already recorded under a response id, as an idempotent repeat needs it. */
export interface RecordedResponse extends PairKey {
  readonly responseId: string;
  readonly seq: number;
  readonly correct: boolean;
  readonly sessionId: string | null;
  /** The caller's answered_at in microseconds since the epoch (PostgreSQL's precision), as a decimal string. */
  readonly answeredAtMicros: string | null;
  readonly masteryBefore: number;
  readonly masteryAfter: number;
  readonly pUnknownAfter: number;
  readonly pCorrect: number;
  readonly paramsVersion: number;
  readonly itemId: string | null;
  readonly paramsSource: ParamsOrigin;
}

/** The row inserted for a pair never seen before, so that it can be locked. */
export interface PriorRow extends PairKey {
  readonly state: MasteryState;
  readonly paramsVersion: number;
}

/** What the transaction sees once every pair is locked. Keys are `pairKey(...)`. */
export interface LockedSnapshot {
  readonly pairs: ReadonlyMap<string, StoredPair>;
  readonly responses: ReadonlyMap<string, RecordedResponse>;
}

export interface PairWrite extends PairKey {
  readonly state: MasteryState;
  readonly version: number;
  readonly nResponses: number;
  readonly nCorrect: number;
  readonly paramsVersion: number;
  /** answered_at of the first and last response written now (ISO), null to use the database's clock. */
  readonly firstAnsweredAt: string | null;
  readonly lastAnsweredAt: string | null;
}

export interface HistoryWrite extends PairKey {
  readonly seq: number;
  readonly correct: boolean;
  readonly responseId: string | null;
  readonly sessionId: string | null;
  readonly answeredAt: string | null;
  readonly masteryBefore: number;
  readonly masteryAfter: number;
  readonly pUnknownAfter: number;
  readonly pCorrect: number;
  readonly paramsVersion: number;
  readonly itemId: string | null;
  readonly paramsSource: ParamsOrigin;
}

/** The writes a plan decided on, and the result to hand back once they commit. */
export interface WritePlan<R> {
  readonly pairs: readonly PairWrite[];
  readonly history: readonly HistoryWrite[];
  readonly result: R;
}

export interface MasteryStore {
  /**
   * One transaction: insert the prior rows that are absent, lock every pair (in sorted order), read the history rows
   * already recorded under `responseIds`, call `plan` with what is locked, write what it returns, commit. Retried
   * from the start on deadlock or a concurrent duplicate response id; `plan` must therefore be pure.
   */
  recordResponses<R>(
    input: { readonly priors: readonly PriorRow[]; readonly responseIds: readonly string[] },
    plan: (locked: LockedSnapshot) => WritePlan<R>,
  ): Promise<R>;
  readPair(key: PairKey): Promise<StoredPair | undefined>;
  /** Pairs of a student that have answered at least once, by concept id, after `afterConceptId`. */
  readStudent(studentId: string, afterConceptId: string | undefined, limit: number): Promise<StoredPair[]>;
  /** Removes a student's state and history (right to erasure). */
  eraseStudent(studentId: string): Promise<{ masteryRows: number; historyRows: number }>;
}

/**
 * An item's own parameters: guess and slip (fitted with multigs; both or neither), learn and forget (multilearn: the
 * transition after an answer to the item). A null value is the concept's; the prior is always the concept's.
 */
export interface ItemParams {
  readonly itemId: string;
  readonly guess: number | null;
  readonly slip: number | null;
  readonly learn: number | null;
  readonly forget: number | null;
}

/** A concept's parameters at one version, as every instance caches them: the concept's own and its items'. */
export interface VersionedParams {
  readonly conceptId: string;
  readonly params: BktParams;
  readonly version: number;
  /** The items with their own values at this version (none: every answer uses `params`). */
  readonly items: readonly ItemParams[];
}

export interface ParameterSource {
  /** A value that changes whenever any concept's parameters change (cheap to poll). */
  parametersEpoch(): Promise<string>;
  loadParameters(): Promise<VersionedParams[]>;
}

/** The map key of a pair. */
export function pairKey(studentId: string, conceptId: string): string {
  return `${studentId}/${conceptId}`;
}
