/**
 * The heart of the update use case, pure: given the locked pairs and the responses already recorded under the
 * incoming ids, apply each response in order with the core and say what to write. The store runs it inside the
 * transaction (and again from scratch if the transaction is retried).
 */
import { initialState, predictCorrect, updateMastery, type MasteryState } from '../bkt/index.js';
import { ServiceError } from './errors.js';
import { forItem, type ResolvedParameters } from './parameters-cache.js';
import {
  pairKey,
  type ParamsOrigin,
  type HistoryWrite,
  type LockedSnapshot,
  type PairWrite,
  type RecordedResponse,
  type StoredPair,
  type WritePlan,
} from './ports.js';

/** One response as the service receives it (ids lower-case). */
export interface ResponseInput {
  readonly studentId: string;
  readonly conceptId: string;
  readonly correct: boolean;
  readonly responseId?: string;
  readonly sessionId?: string;
  /** ISO 8601 time of the answer, as the caller sent it. */
  readonly answeredAt?: string;
  /** The item answered; its own guess and slip are used when the concept has them. */
  readonly itemId?: string;
}

/** What an update returns (the API's field names are the HTTP layer's business). */
export interface UpdateResult {
  readonly studentId: string;
  readonly conceptId: string;
  readonly masteryBefore: number;
  readonly masteryAfter: number;
  readonly pCorrect: number;
  readonly pCorrectNext: number;
  readonly mastered: boolean;
  readonly newlyMastered: boolean;
  readonly nResponses: number;
  readonly version: number;
  readonly replayed: boolean;
  readonly itemId: string | null;
  /** Which parameters computed this answer. */
  readonly paramsSource: ParamsOrigin;
}

/** Microseconds since the epoch of an ISO time, as PostgreSQL stores it (digits past the sixth are dropped). */
export function isoToMicros(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new ServiceError('invalid_input', `answered_at is not a valid time: ${iso}`, 'answered_at');
  const fraction = /\.(\d+)/.exec(iso)?.[1] ?? '';
  const subMs = Number((fraction.slice(3) + '000').slice(0, 3));
  return (BigInt(ms) * 1000n + BigInt(subMs)).toString();
}

function sameRequest(recorded: RecordedResponse, input: ResponseInput): boolean {
  return (
    recorded.studentId === input.studentId &&
    recorded.conceptId === input.conceptId &&
    recorded.correct === input.correct &&
    recorded.sessionId === (input.sessionId ?? null) &&
    recorded.itemId === (input.itemId ?? null) &&
    recorded.answeredAtMicros === (input.answeredAt === undefined ? null : isoToMicros(input.answeredAt))
  );
}

interface Working {
  state: MasteryState;
  version: number;
  nResponses: number;
  nCorrect: number;
  paramsVersion: number;
  firstAnsweredAt: string | null;
  lastAnsweredAt: string | null;
  written: boolean;
}

/** What an update returns for a recorded response: first time (`replayed` false) or a replay of its id. */
function resultOf(
  r: RecordedResponse,
  replayed: boolean,
  parameters: (conceptId: string) => ResolvedParameters,
  threshold: number,
): UpdateResult {
  const before = r.masteryBefore;
  const after = r.masteryAfter;
  const { params } = parameters(r.conceptId);
  return {
    studentId: r.studentId,
    conceptId: r.conceptId,
    masteryBefore: before,
    masteryAfter: after,
    pCorrect: r.pCorrect,
    pCorrectNext: predictCorrect({ known: after, unknown: r.pUnknownAfter }, params),
    mastered: after >= threshold,
    newlyMastered: before < threshold && after >= threshold,
    nResponses: r.seq,
    version: r.seq,
    replayed,
    itemId: r.itemId,
    paramsSource: r.paramsSource,
  };
}

/**
 * The response already recorded under the input's id, if any; a different response under the same id is a 409 that
 * names `field` (`response_id`, or `responses[i].response_id` in a batch).
 */
function findReplay(
  seen: ReadonlyMap<string, RecordedResponse>,
  input: ResponseInput,
  field: string,
): RecordedResponse | undefined {
  if (input.responseId === undefined) return undefined;
  const recorded = seen.get(input.responseId);
  if (recorded && !sameRequest(recorded, input)) {
    throw new ServiceError('idempotency_conflict', `response_id ${input.responseId} was already used for a different response`, field);
  }
  return recorded;
}

/** The pair's working copy, started from its locked row the first time the plan touches it. */
function workingPair(working: Map<string, Working>, locked: LockedSnapshot, input: ResponseInput): Working {
  const key = pairKey(input.studentId, input.conceptId);
  let w = working.get(key);
  if (!w) {
    const stored: StoredPair | undefined = locked.pairs.get(key);
    if (!stored) throw new Error(`pair ${key} was not locked`);
    w = { ...stored, firstAnsweredAt: null, lastAnsweredAt: null, written: false };
    working.set(key, w);
  }
  return w;
}

/** Applies one new response to its pair's working copy and returns the history row it writes. */
function applyResponse(
  w: Working,
  input: ResponseInput,
  parameters: (conceptId: string) => ResolvedParameters,
  threshold: number,
): HistoryWrite {
  const itemId = input.itemId ?? null;
  const { params, version: paramsVersion, source: paramsSource } = forItem(parameters(input.conceptId), itemId);
  const u = updateMastery(w.state, input.correct, params, threshold);
  const answeredAt = input.answeredAt ?? null;
  w.state = u.state;
  w.version += 1;
  w.nResponses += 1;
  w.nCorrect += input.correct ? 1 : 0;
  w.paramsVersion = paramsVersion;
  w.firstAnsweredAt ??= answeredAt;
  w.lastAnsweredAt = answeredAt;
  w.written = true;
  return {
    studentId: input.studentId,
    conceptId: input.conceptId,
    seq: w.version,
    correct: input.correct,
    responseId: input.responseId ?? null,
    sessionId: input.sessionId ?? null,
    answeredAt,
    masteryBefore: u.masteryBefore,
    masteryAfter: u.masteryAfter,
    pUnknownAfter: u.state.unknown,
    pCorrect: u.pCorrect,
    paramsVersion,
    itemId,
    paramsSource,
  };
}

/** The pair rows to write: those the plan changed, without the working flag. */
function pairsToWrite(working: ReadonlyMap<string, Working>): PairWrite[] {
  const pairs: PairWrite[] = [];
  for (const [key, w] of working) {
    if (!w.written) continue;
    const [studentId, conceptId] = key.split('/');
    const { written: _written, ...rest } = w;
    pairs.push({ studentId, conceptId, ...rest });
  }
  return pairs;
}

/** Plans a list of responses: replays answer from what was recorded, new ones update their pair in order. */
export function planResponses(
  inputs: readonly ResponseInput[],
  locked: LockedSnapshot,
  parameters: (conceptId: string) => ResolvedParameters,
  threshold: number,
  /** A batch's 409 names the item (responses[3].response_id), also for a batch of one. */
  batch = inputs.length > 1,
): WritePlan<UpdateResult[]> {
  const working = new Map<string, Working>();
  const seen = new Map<string, RecordedResponse>(locked.responses);
  const history: HistoryWrite[] = [];
  const results: UpdateResult[] = [];
  inputs.forEach((input, index) => {
    const replay = findReplay(seen, input, `${batch ? `responses[${index}].` : ''}response_id`);
    if (replay) {
      results.push(resultOf(replay, true, parameters, threshold));
      return;
    }
    const row = applyResponse(workingPair(working, locked, input), input, parameters, threshold);
    history.push(row);
    const recorded: RecordedResponse = {
      ...row,
      responseId: input.responseId ?? '',
      answeredAtMicros: row.answeredAt === null ? null : isoToMicros(row.answeredAt),
    };
    if (input.responseId !== undefined) seen.set(input.responseId, recorded);
    results.push(resultOf(recorded, false, parameters, threshold));
  });
  return { pairs: pairsToWrite(working), history, result: results };
}

/** The state a never-seen pair starts from. */
export function priorOf(parameters: ResolvedParameters): MasteryState {
  return initialState(parameters.params);
}
