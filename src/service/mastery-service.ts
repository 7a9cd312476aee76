/** The mastery use cases: record responses (one or a batch), read mastery, erase a student. */
import { predictCorrect } from '../bkt/index.js';
import { ServiceError } from './errors.js';
import type { ParametersCache } from './parameters-cache.js';
import { PairQueue } from './pair-queue.js';
import { planResponses, priorOf, isoToMicros, type ResponseInput, type UpdateResult } from './plan-responses.js';
import { MAX_ITEM_ID_LENGTH, pairKey, type MasteryStore, type PriorRow, type StoredPair } from './ports.js';

export const MAX_BATCH = 1000;
export const MAX_PAGE = 500;

export interface ConceptMastery {
  readonly studentId: string;
  readonly conceptId: string;
  readonly level: number;
  readonly mastered: boolean;
  readonly nResponses: number;
  readonly nCorrect: number;
  /** P(correct) on the next answer. */
  readonly pCorrectNext: number;
  readonly updatedAt: string | null;
}

export interface StudentMasteryPage {
  readonly studentId: string;
  readonly concepts: ConceptMastery[];
  /** Pass as `after` to get the next page; absent on the last page. */
  readonly nextAfter?: string;
}

export interface MasteryServiceOptions {
  readonly store: MasteryStore;
  readonly parameters: ParametersCache;
  /** Mastered means P(L) >= threshold; applied when read, so changing it needs no migration. */
  readonly threshold: number;
  /**
   * Longest wait, in ms, for earlier updates of the same pair in this process before `unavailable` (the row lock
   * timeout is the natural value). Default 2000.
   */
  readonly pairWaitMs?: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function uuid(value: string, field: string): string {
  const v = value.toLowerCase();
  if (!UUID.test(v)) throw new ServiceError('invalid_input', `${field} must be a UUID`, field);
  return v;
}

/** NUL, or a surrogate code unit without its pair. */
const NOT_STORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * An item id as given: 1 to MAX_ITEM_ID_LENGTH characters, compared exactly (case and spaces matter). PostgreSQL's
 * text holds neither NUL nor a lone surrogate (it would store U+FFFD, and a retry would no longer match), so neither
 * is accepted.
 */
export function checkItemId(value: string, field: string): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > MAX_ITEM_ID_LENGTH) {
    throw new ServiceError('invalid_input', `${field} must be a string of 1 to ${MAX_ITEM_ID_LENGTH} characters`, field);
  }
  if (NOT_STORABLE.test(value)) {
    throw new ServiceError('invalid_input', `${field} must be Unicode text without NUL (U+0000) or a lone surrogate`, field);
  }
  return value;
}

/** Lower-cases ids (so that map keys and idempotency checks agree with PostgreSQL's uuid) and checks them. */
function normalise(input: ResponseInput, at: string): ResponseInput {
  if (input.answeredAt !== undefined) isoToMicros(input.answeredAt);
  return {
    studentId: uuid(input.studentId, `${at}student_id`),
    conceptId: uuid(input.conceptId, `${at}concept_id`),
    correct: input.correct,
    ...(input.responseId !== undefined && { responseId: uuid(input.responseId, `${at}response_id`) }),
    ...(input.sessionId !== undefined && { sessionId: uuid(input.sessionId, `${at}session_id`) }),
    ...(input.answeredAt !== undefined && { answeredAt: input.answeredAt }),
    ...(input.itemId !== undefined && { itemId: checkItemId(input.itemId, `${at}item_id`) }),
  };
}

export class MasteryService {
  private readonly store: MasteryStore;
  private readonly parameters: ParametersCache;
  private readonly queue: PairQueue;
  readonly threshold: number;

  constructor(options: MasteryServiceOptions) {
    this.store = options.store;
    this.parameters = options.parameters;
    this.threshold = options.threshold;
    this.queue = new PairQueue(options.pairWaitMs ?? 2000);
  }

  /** Applies one response in one transaction; a repeated response_id returns the first result, replayed. */
  async recordResponse(input: ResponseInput): Promise<UpdateResult> {
    const [result] = await this.apply([normalise(input, '')], false);
    return result;
  }

  /** Applies up to MAX_BATCH responses in order, all or nothing. */
  async recordBatch(inputs: readonly ResponseInput[]): Promise<UpdateResult[]> {
    if (inputs.length === 0) throw new ServiceError('invalid_input', 'responses must not be empty', 'responses');
    if (inputs.length > MAX_BATCH) {
      throw new ServiceError('invalid_input', `responses holds at most ${MAX_BATCH} items, got ${inputs.length}`, 'responses');
    }
    return this.apply(inputs.map((r, i) => normalise(r, `responses[${i}].`)), true);
  }

  private apply(inputs: ResponseInput[], batch: boolean): Promise<UpdateResult[]> {
    const priors = new Map<string, PriorRow>();
    const responseIds = new Set<string>();
    for (const r of inputs) {
      const key = pairKey(r.studentId, r.conceptId);
      if (!priors.has(key)) {
        const p = this.parameters.get(r.conceptId);
        priors.set(key, { studentId: r.studentId, conceptId: r.conceptId, state: priorOf(p), paramsVersion: p.version });
      }
      if (r.responseId !== undefined) responseIds.add(r.responseId);
    }
    // One pair's updates queue in this process first, so that a hot pair holds one connection, not the pool.
    return this.queue.run([...priors.keys()], () =>
      this.store.recordResponses({ priors: [...priors.values()], responseIds: [...responseIds] }, (locked) =>
        planResponses(inputs, locked, (c) => this.parameters.get(c), this.threshold, batch),
      ),
    );
  }

  /** One pair's mastery; a pair never seen has the concept's prior and n_responses 0. */
  async readConcept(studentId: string, conceptId: string): Promise<ConceptMastery> {
    const s = uuid(studentId, 'student_id');
    const c = uuid(conceptId, 'concept_id');
    const stored = await this.store.readPair({ studentId: s, conceptId: c });
    if (stored && stored.nResponses > 0) return this.view(stored);
    const p = this.parameters.get(c);
    const prior = priorOf(p);
    return {
      studentId: s,
      conceptId: c,
      level: prior.known,
      mastered: prior.known >= this.threshold,
      nResponses: 0,
      nCorrect: 0,
      pCorrectNext: predictCorrect(prior, p.params),
      updatedAt: null,
    };
  }

  /** A student's concepts in concept-id order, MAX_PAGE (or `limit`) at a time. */
  async readStudent(studentId: string, after?: string, limit: number = MAX_PAGE): Promise<StudentMasteryPage> {
    const s = uuid(studentId, 'student_id');
    const a = after === undefined ? undefined : uuid(after, 'after');
    if (!(Number.isInteger(limit) && limit >= 1 && limit <= MAX_PAGE)) {
      throw new ServiceError('invalid_input', `limit must be an integer from 1 to ${MAX_PAGE}`, 'limit');
    }
    const rows = await this.store.readStudent(s, a, limit + 1);
    const page = rows.slice(0, limit).map((r) => this.view(r));
    return {
      studentId: s,
      concepts: page,
      ...(rows.length > limit && { nextAfter: page[page.length - 1].conceptId }),
    };
  }

  async eraseStudent(studentId: string): Promise<{ masteryRows: number; historyRows: number }> {
    return this.store.eraseStudent(uuid(studentId, 'student_id'));
  }

  private view(p: StoredPair): ConceptMastery {
    return {
      studentId: p.studentId,
      conceptId: p.conceptId,
      level: p.state.known,
      mastered: p.state.known >= this.threshold,
      nResponses: p.nResponses,
      nCorrect: p.nCorrect,
      pCorrectNext: predictCorrect(p.state, this.parameters.get(p.conceptId).params),
      updatedAt: p.updatedAt,
    };
  }
}
