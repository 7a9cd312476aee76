/**
 * The ports of fit jobs, parameter administration, history reads and imports, declared here and implemented in
 * src/store (SQL) and src/fitting (worker threads). Only as wide as the use cases need.
 */
import type { BktParams, DatasetFit, FitOptions, MasteryState, ResponseData } from '../bkt/index.js';
import type { ItemParams, PairKey, PairWrite, ParamsOrigin, StoredPair } from './ports.js';

/** params_source by its code in HistoryColumns.paramsSource. */
export const PARAMS_ORIGINS: readonly ParamsOrigin[] = ['default', 'concept', 'item'];
/** The code of each params_source in HistoryColumns.paramsSource. */
export const ORIGIN_CODE: Readonly<Record<ParamsOrigin, number>> = { default: 0, concept: 1, item: 2 };

export type FitJobStatus = 'queued' | 'running' | 'done' | 'failed' | 'interrupted';

/** A stored fit job; `options`, `progress` and `results` are the JSON the API shows. */
export interface FitJobRecord {
  readonly id: string;
  readonly status: FitJobStatus;
  readonly options: FitJobOptions;
  readonly progress: FitJobProgress;
  readonly results: FitJobResults | null;
  readonly error: string | null;
  readonly owner: string;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly heartbeatAt: string;
}

/** A fit job's request, validated. */
export interface FitJobOptions {
  readonly conceptIds: readonly string[] | null;
  readonly restarts: number;
  readonly seed: number;
  readonly maxIterations: number;
  readonly tol: number;
  readonly bounds: { readonly guess: number | null; readonly slip: number | null };
  readonly fix: Partial<BktParams>;
  readonly forget: boolean;
  /** Guess and slip per item (the history's item_id), as `bkt fit --multigs`. Absent in jobs stored before. */
  readonly multigs?: boolean;
  /** Learn and forget per item, as `bkt fit --multilearn item_id`. Absent in jobs stored before. */
  readonly multilearn?: boolean;
  /** Concepts with fewer responses are not fitted at all. */
  readonly minResponses: number;
  /** Apply fits flagged degenerate or few_data too. */
  readonly applyDegenerate: boolean;
  /** Recompute every pair's state from its history under the new parameters. */
  readonly replay: boolean;
}

export interface FitJobProgress {
  readonly phase: 'queued' | 'reading' | 'fitting' | 'applying' | 'replaying' | 'finished';
  readonly rowsRead: number;
  readonly unitsDone: number;
  readonly unitsTotal: number;
  readonly pairsReplayed: number;
  readonly pairsTotal: number;
}

/** Why a concept's fit was or was not applied. */
export type FitOutcome = 'applied' | 'not_applied_flagged' | 'skipped_changed' | 'skipped_few_responses';

export interface ConceptFitResult {
  readonly conceptId: string;
  readonly outcome: FitOutcome;
  readonly applied: boolean;
  readonly responses: number;
  readonly students: number;
  /** Null for a concept not fitted (fewer responses than min_responses). */
  readonly params: BktParams | null;
  readonly logLik: number | null;
  readonly iterations: number | null;
  readonly converged: boolean | null;
  readonly flags: { degenerate: boolean; mastery_unreachable: boolean; at_bound: boolean; few_data: boolean } | null;
  readonly reasons: readonly string[];
  /** The parameter version before the fit, and the version written (null when not applied). */
  readonly previousVersion: number;
  readonly newVersion: number | null;
  /** Pairs whose state was recomputed (replay only). */
  readonly pairsReplayed: number;
}

export interface FitJobResults {
  readonly concepts: readonly ConceptFitResult[];
  readonly responses: number;
  /** Sum of the fitted concepts' log-likelihoods (their own fits, applied or not). */
  readonly logLik: number;
  readonly seconds: { readonly read: number; readonly fit: number; readonly apply: number; readonly replay: number };
}

/** One page of history in (concept, student, seq) order, as a fit job reads it. */
export interface FitHistoryPage {
  readonly conceptIds: string[];
  readonly studentIds: string[];
  readonly seqs: number[];
  readonly correct: boolean[];
  /** Each row's item_id (null: none), when the page was read with items. */
  readonly itemIds?: (string | null)[];
}

export interface HistoryCursor {
  readonly conceptId: string;
  readonly studentId: string;
  readonly seq: number;
}

/** A concept's parameters as the fit saw them, to detect a change made meanwhile. */
export interface ParameterSnapshot {
  readonly conceptId: string;
  readonly version: number;
}

export interface FittedParameters {
  readonly conceptId: string;
  readonly params: BktParams;
  readonly sampleSize: number;
  /** The version the fit started from (0 = no row): written only if it is still current. */
  readonly expectedVersion: number;
  /**
   * The items' own values at the new version (a fit by item). Absent: the concept's items at the version the
   * fit started from stay in effect, carried to the new version as a PUT of the concept's parameters does.
   */
  readonly items?: readonly ItemParams[];
}

/** What applyParameters wrote: each concept's new version, and its items at that version (none: absent). */
export interface AppliedParameters {
  readonly written: Map<string, number>;
  readonly items: Map<string, ItemParams[]>;
  readonly skipped: string[];
}

/** A pair to replay, locked, with its history in seq order. */
export interface ReplayPair extends PairKey {
  readonly version: number;
  readonly correct: Uint8Array;
  /** The item of each history row (null: none), as the row recorded it. */
  readonly itemIds: readonly (string | null)[];
}

export interface ReplayWrite extends PairKey {
  readonly state: MasteryState;
  readonly paramsVersion: number;
}

export interface FitJobStore {
  /** Inserts a queued job; returns undefined when another job is queued or running. */
  createJob(options: FitJobOptions, owner: string): Promise<string | undefined>;
  readJob(id: string): Promise<FitJobRecord | undefined>;
  /** Moves the job to running (only from queued). */
  startJob(id: string, owner: string): Promise<boolean>;
  /** Writes progress and the heartbeat; false when the job is no longer this owner's running job. */
  heartbeat(id: string, owner: string, progress: FitJobProgress): Promise<boolean>;
  finishJob(
    id: string,
    owner: string,
    status: 'done' | 'failed' | 'interrupted',
    progress: FitJobProgress,
    results: FitJobResults | null,
    error: string | null,
  ): Promise<void>;
  /** Marks queued or running jobs interrupted: all of them, or those whose heartbeat is older than `staleMs`. */
  interruptStaleJobs(staleMs: number | 'all'): Promise<string[]>;

  /** The current version of each concept's parameters (0 = no row). */
  parameterVersions(conceptIds: readonly string[] | null): Promise<Map<string, number>>;
  /**
   * Up to `limit` history rows after `after`, in (concept, student, seq) order, of the given concepts or all; with
   * `withItems`, their item ids too (a read of the table's rows rather than of its index alone).
   */
  readHistoryPage(conceptIds: readonly string[] | null, after: HistoryCursor | null, limit: number, withItems?: boolean): Promise<FitHistoryPage>;
  /**
   * One transaction: each concept's parameters are written with a new version, fitted_at and sample_size, and its
   * items at that version (see FittedParameters.items), unless its version moved from `expectedVersion` (returned
   * in `skipped`).
   */
  applyParameters(fits: readonly FittedParameters[]): Promise<AppliedParameters>;
  /** How many pairs of the concept are stored (for progress). */
  countPairs(conceptId: string): Promise<number>;
  /**
   * One transaction: locks up to `limit` pairs of the concept after `afterStudentId`, reads their history, lets
   * `plan` compute the states, writes them. Returns the last student id handled (undefined when none were left).
   */
  replayPairs(
    conceptId: string,
    afterStudentId: string | null,
    limit: number,
    plan: (pairs: readonly ReplayPair[]) => ReplayWrite[],
  ): Promise<{ lastStudentId: string | undefined; pairs: number }>;
}

/** Runs EM over a data set (on worker threads in production). */
export type Fitter = (
  data: ResponseData,
  options: Partial<FitOptions>,
  onProgress: (p: { units: number; totalUnits: number }) => void,
  /** Aborted when the job must stop (the service is shutting down). */
  signal: AbortSignal,
) => Promise<DatasetFit>;

export interface StoredParameters {
  readonly conceptId: string;
  readonly params: BktParams;
  readonly version: number;
  readonly fittedAt: string | null;
  readonly sampleSize: number;
  readonly updatedAt: string;
}

export interface ParameterStore {
  readParameters(conceptId: string): Promise<StoredParameters | undefined>;
  listParameters(afterConceptId: string | undefined, limit: number): Promise<StoredParameters[]>;
  /**
   * Sets a concept's parameters by hand: a new version, fitted_at cleared, and its items carried to the new version
   * in the same transaction. Returns the row written.
   */
  putParameters(conceptId: string, params: BktParams): Promise<StoredParameters>;
  /** The concept's items at its current version, by item id after `afterItemId`. */
  readItems(conceptId: string, afterItemId: string | undefined, limit: number): Promise<{ version: number; items: ItemParams[] }>;
  /**
   * One transaction: a new version of the concept's parameters (created at the defaults when it has none) whose
   * items are exactly `items`. Returns the version written.
   */
  putItems(conceptId: string, items: readonly ItemParams[]): Promise<number>;
}

export interface HistoryRow {
  readonly conceptId: string;
  readonly seq: number;
  readonly correct: boolean;
  readonly masteryBefore: number;
  readonly masteryAfter: number;
  readonly pCorrect: number;
  readonly paramsVersion: number;
  readonly responseId: string | null;
  readonly sessionId: string | null;
  readonly answeredAt: string | null;
  readonly itemId: string | null;
  readonly paramsSource: ParamsOrigin;
  readonly createdAt: string;
  /** created_at in microseconds since the epoch, as a decimal string (the cursor's exact form). */
  readonly createdAtMicros: string;
}

export interface HistoryQuery {
  readonly studentId: string;
  readonly conceptId?: string;
  /** ISO bounds on created_at: from inclusive, to exclusive. */
  readonly from?: string;
  readonly to?: string;
  /** Rows strictly after this (created_at µs, concept, seq) position. */
  readonly after?: { readonly createdAtMicros: string; readonly conceptId: string; readonly seq: number };
  readonly limit: number;
}

export interface HistoryStore {
  readHistory(q: HistoryQuery): Promise<HistoryRow[]>;
}

/**
 * Imported history rows of one batch, column by column in typed arrays (a batch holds tens of thousands: one object,
 * or even one string, per row would cost more in garbage collection than the arithmetic). Row i belongs to the pair
 * at `pairOf[i]` of the batch's pair list; its response id is 16 bytes at `responseIds[16 i]`; its item is
 * `items[itemOf[i]]` (-1: none) and its params_source `PARAMS_ORIGINS[paramsSource[i]]`. Imported rows have no
 * session and no answered_at.
 */
export class HistoryColumns {
  length = 0;
  readonly pairOf: Uint32Array;
  readonly seq: Int32Array;
  readonly correct: Uint8Array;
  readonly responseIds: Uint8Array;
  readonly masteryBefore: Float64Array;
  readonly masteryAfter: Float64Array;
  readonly pUnknownAfter: Float64Array;
  readonly pCorrect: Float64Array;
  readonly paramsVersion: Int32Array;
  readonly paramsSource: Uint8Array;
  readonly itemOf: Int32Array;

  constructor(
    readonly capacity: number,
    /** The item ids the rows refer to by index. */
    readonly items: readonly string[] = [],
  ) {
    this.pairOf = new Uint32Array(capacity);
    this.seq = new Int32Array(capacity);
    this.correct = new Uint8Array(capacity);
    this.responseIds = new Uint8Array(16 * capacity);
    this.masteryBefore = new Float64Array(capacity);
    this.masteryAfter = new Float64Array(capacity);
    this.pUnknownAfter = new Float64Array(capacity);
    this.pCorrect = new Float64Array(capacity);
    this.paramsVersion = new Int32Array(capacity);
    this.paramsSource = new Uint8Array(capacity);
    this.itemOf = new Int32Array(capacity).fill(-1);
  }
}

export interface ImportStore {
  /** Which of these response ids are already recorded. */
  existingResponseIds(ids: readonly string[]): Promise<Set<string>>;
  /** Which of these pairs have answered at least once (version > 0). */
  pairsWithState(pairs: readonly PairKey[]): Promise<PairKey[]>;
  /**
   * One transaction: writes pairs that have no state yet (no row, or a row never answered) with their history
   * (`history.pairOf` indexes `pairs`). If any of them has state by now, nothing is written and those pairs are
   * returned.
   */
  insertPairs(pairs: readonly PairWrite[], history: HistoryColumns): Promise<{ conflicts: PairKey[] }>;
  /**
   * One transaction: inserts absent pairs at their prior, locks every pair (sorted), calls `plan` with the stored
   * pairs by `pairKey`, writes the pairs and history rows it returns.
   */
  /**
   * After a bulk load: brings the history table's visibility map up to date, so that the next reads (a fit job's
   * index-only scans of history, trends) do not each pay for it. Best effort: resolves false when the
   * database refused (no right to vacuum, say), which costs those reads speed, not correctness.
   */
  settle(): Promise<boolean>;
  appendPairs(
    priors: readonly { readonly key: PairKey; readonly state: MasteryState; readonly paramsVersion: number }[],
    plan: (locked: ReadonlyMap<string, StoredPair>) => { pairs: PairWrite[]; history: HistoryColumns },
  ): Promise<void>;
}
