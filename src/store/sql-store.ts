/**
 * The one SQL implementation of the service's ports, over the small SQL interface (either driver).
 * Floats travel as JSON numbers (shortest round-trip form) and come back as float8: exact both ways.
 */
import { makeParams, type BktParams } from '../bkt/index.js';
import {
  pairKey,
  type VersionedParams,
  type HistoryWrite,
  type LockedSnapshot,
  type MasteryStore,
  type PairKey,
  type PairWrite,
  type ParameterSource,
  type ParamsOrigin,
  type PriorRow,
  type RecordedResponse,
  type StoredPair,
  type WritePlan,
} from '../service/ports.js';
import { isRetryable, isSeenResponseId, translateDbError } from './db-errors.js';
import { type ItemDbRow, itemsByConcept } from './item-rows.js';
import { pendingMigrations, readMigrations, type MigrationFile } from './migrate.js';
import { jsonRows, type SqlDatabase, type SqlExecutor, type SqlValue } from './sql.js';

/**
 * The same work as a hook's function, as part of the update's own write statement (a data-modifying CTE): one round
 * trip fewer per answer.
 */
export interface InlineWrite {
  /** Whether this transaction does the work (may read a flag in `tx`). */
  active(tx: SqlExecutor): Promise<boolean>;
  /** One data-modifying statement for a batch's write; `$1` is the written pairs' JSON (see pairJson), `$3` the threshold. */
  readonly sql: string;
  /**
   * The mastery threshold. A single answer does the same work inside bkt_internal.write_response, which upserts the
   * pair's graph outbox row when given the threshold as its last argument (migration 20261127300000).
   */
  readonly threshold: number;
}

/**
 * Extension point of the update transaction: runs after the state and history are written, before commit, in the
 * same transaction (for example a transactional outbox upsert). Throwing rolls the update back. A hook with an
 * `inline` form has the service's updates (recordResponses: single answers and batches) run that instead of the
 * function; imports and fit-job replays (pairsWritten) call the function.
 */
export type PairsWrittenHook = ((tx: SqlExecutor, pairs: readonly PairWrite[]) => Promise<void>) & {
  readonly inline?: InlineWrite;
};

/** A `student_mastery` row as read by the stores (shared with the import store). */
export interface PairRow {
  student_id: string;
  concept_id: string;
  p_known: number;
  p_unknown: number;
  version: number;
  n_responses: number;
  n_correct: number;
  params_version: number;
  updated_at: Date | string;
}

const PAIR_COLUMNS = 'student_id, concept_id, p_known, p_unknown, version, n_responses, n_correct, params_version, updated_at';

export function toPair(r: PairRow): StoredPair {
  return {
    studentId: r.student_id,
    conceptId: r.concept_id,
    state: { known: r.p_known, unknown: r.p_unknown },
    version: r.version,
    nResponses: r.n_responses,
    nCorrect: r.n_correct,
    paramsVersion: r.params_version,
    updatedAt: r.version === 0 ? null : new Date(r.updated_at).toISOString(),
  };
}

/** A history row recorded under a response id, as the stores read it. */
export interface ResponseRow {
  response_id: string;
  student_id: string;
  concept_id: string;
  seq: number;
  response_correct: boolean;
  session_id: string | null;
  answered_us: string | null;
  mastery_before: number;
  mastery_after: number;
  p_unknown_after: number;
  p_correct: number;
  params_version: number;
  item_id: string | null;
  params_source: ParamsOrigin;
}

/** params_source of a history row; rows written before the column existed read from their params_version. */
export const PARAMS_SOURCE_SQL = `COALESCE(params_source, CASE WHEN params_version = 0 THEN 'default' ELSE 'concept' END)`;

const byPair = (a: PairKey, b: PairKey) =>
  a.studentId < b.studentId ? -1 : a.studentId > b.studentId ? 1 : a.conceptId < b.conceptId ? -1 : a.conceptId > b.conceptId ? 1 : 0;

/** The update's write: state and history in one statement, plus a hook's inline statement when given. */
export const writeSql = (pairs: number, inline?: string) => `
WITH s AS (
  UPDATE public.student_mastery sm SET
    p_known = x.p_known, p_unknown = x.p_unknown, version = x.version, n_responses = x.n_responses,
    n_correct = x.n_correct, params_version = x.params_version,
    first_answered_at = COALESCE(sm.first_answered_at, x.first_answered_at, now()),
    last_answered_at = COALESCE(x.last_answered_at, now()),
    updated_at = now()
  FROM ${jsonRows('$1', `student_id uuid, concept_id uuid, p_known float8, p_unknown float8, version int, n_responses int,
    n_correct int, params_version int, first_answered_at timestamptz, last_answered_at timestamptz`, pairs, 'x')}
  WHERE sm.student_id = x.student_id AND sm.concept_id = x.concept_id
  RETURNING 1
), h AS (
  INSERT INTO public.mastery_history (student_id, concept_id, seq, mastery_before, mastery_after, p_unknown_after,
    p_correct, response_correct, response_id, session_id, params_version, answered_at, item_id, params_source)
  SELECT y.student_id, y.concept_id, y.seq, y.mastery_before, y.mastery_after, y.p_unknown_after,
    y.p_correct, y.response_correct, y.response_id, y.session_id, y.params_version, y.answered_at, y.item_id,
    y.params_source
  FROM jsonb_to_recordset($2::jsonb) AS y(student_id uuid, concept_id uuid, seq int, mastery_before float8,
    mastery_after float8, p_unknown_after float8, p_correct float8, response_correct boolean, response_id uuid,
    session_id uuid, params_version int, answered_at timestamptz, item_id text, params_source text)
  ON CONFLICT (response_id) DO NOTHING
  RETURNING 1
)${inline === undefined ? '' : `, inline_write AS (${inline})`}
SELECT (SELECT count(*) FROM s)::int AS pairs, (SELECT count(*) FROM h)::int AS rows`;

const MAX_ATTEMPTS = 5;

/** A response id of this transaction was already recorded: roll back and run again, reading recorded ids first. */
class SeenResponseId extends Error {}

export class SqlStore implements MasteryStore, ParameterSource {
  private readonly hooks: PairsWrittenHook[] = [];
  private inline: InlineWrite | undefined;
  private migrationFiles: MigrationFile[] | undefined;

  constructor(readonly db: SqlDatabase) {}

  /** Adds a statement (or several) to every update transaction; see PairsWrittenHook. */
  onPairsWritten(hook: PairsWrittenHook): void {
    if (hook.inline && this.hooks.some((h) => h.inline)) throw new Error('only one hook may have an inline form');
    this.hooks.push(hook);
    this.inline = hook.inline ?? this.inline;
  }

  /** Runs the hooks for pairs written by another transaction of this database (imports, fit-job replays). */
  readonly pairsWritten: PairsWrittenHook = async (tx, pairs) => {
    for (const hook of this.hooks) await hook(tx, pairs);
  };

  async recordResponses<R>(
    input: { readonly priors: readonly PriorRow[]; readonly responseIds: readonly string[] },
    plan: (locked: LockedSnapshot) => WritePlan<R>,
  ): Promise<R> {
    // Sorted once: every transaction inserts and locks pairs in the same order, which keeps deadlocks rare.
    const priors = [...input.priors].sort(byPair);
    // One answer goes through two functions with cached plans and two round trips (BEGIN with lock_pair, then
    // write_response with COMMIT); batches through set-based statements.
    // Optimistic idempotency: repeats are rare, so the first attempt does not look response ids up. A batch's history
    // insert skips ids already recorded (ON CONFLICT DO NOTHING) and a shortfall means a repeat; one answer's insert
    // fails on it. Either way: roll back, run again reading the recorded ids first.
    let lookUp = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.transaction(async (tx) => {
          const pairs = priors.length === 1 ? await lockPair(tx, priors[0]) : await insertAndLock(tx, priors);
          const responses = lookUp ? await readResponses(tx, input.responseIds) : new Map<string, RecordedResponse>();
          const decided = plan({ pairs, responses });
          const inline = decided.pairs.length > 0 && this.inline && (await this.inline.active(tx)) ? this.inline : undefined;
          const functionHooks = this.hooks.some((h) => !h.inline);
          if (decided.pairs.length === 1 && decided.history.length === 1 && !functionHooks) {
            // The common case, one answer: a function with cached plans (see the migration), sent with the COMMIT.
            // A seen response id fails it (unique_violation), so nothing is committed; caught below.
            await tx.commitWith(WRITE_RESPONSE, writeResponseParams(decided.pairs[0], decided.history[0], inline));
            return decided.result;
          }
          if (decided.pairs.length > 0) {
            const written = await tx.query<{ pairs: number; rows: number }>(writeSql(decided.pairs.length, inline?.sql), [
              JSON.stringify(decided.pairs.map(pairJson)),
              JSON.stringify(decided.history.map(historyJson)),
              ...(inline ? [inline.threshold] : []),
            ]);
            if (written[0].rows !== decided.history.length) throw new SeenResponseId();
            if (written[0].pairs !== decided.pairs.length) {
              throw new Error(`update wrote ${written[0].pairs} of ${decided.pairs.length} locked pairs`);
            }
            for (const hook of this.hooks) if (!hook.inline) await hook(tx, decided.pairs);
          }
          return decided.result;
        });
      } catch (e) {
        if ((e instanceof SeenResponseId || isSeenResponseId(e)) && attempt < MAX_ATTEMPTS) {
          lookUp = true;
          continue;
        }
        if (attempt < MAX_ATTEMPTS && isRetryable(e)) {
          // Jittered so that two transactions that deadlocked do not meet again at once.
          await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
          continue;
        }
        throw translateDbError(e);
      }
    }
  }

  async readPair(key: PairKey): Promise<StoredPair | undefined> {
    const rows = await this.read<PairRow>(
      `SELECT ${PAIR_COLUMNS} FROM public.student_mastery WHERE student_id = $1 AND concept_id = $2`,
      [key.studentId, key.conceptId],
    );
    return rows[0] ? toPair(rows[0]) : undefined;
  }

  async readStudent(studentId: string, afterConceptId: string | undefined, limit: number): Promise<StoredPair[]> {
    const rows = await this.read<PairRow>(
      `SELECT ${PAIR_COLUMNS} FROM public.student_mastery
       WHERE student_id = $1 AND n_responses > 0 AND ($2::uuid IS NULL OR concept_id > $2::uuid)
       ORDER BY concept_id LIMIT $3`,
      [studentId, afterConceptId ?? null, limit],
    );
    return rows.map(toPair);
  }

  async eraseStudent(studentId: string): Promise<{ masteryRows: number; historyRows: number }> {
    try {
      const rows = await this.db.transaction((tx) =>
        tx.query<{ m: number; h: number }>(
          'SELECT mastery_rows::int AS m, history_rows::int AS h FROM bkt_internal.erase_student($1)',
          [studentId],
        ),
      );
      return { masteryRows: rows[0].m, historyRows: rows[0].h };
    } catch (e) {
      throw translateDbError(e);
    }
  }

  async parametersEpoch(): Promise<string> {
    const rows = await this.read<{ epoch: string }>('SELECT epoch::text AS epoch FROM bkt_internal.parameters_epoch');
    return rows[0]?.epoch ?? '0';
  }

  async loadParameters(): Promise<VersionedParams[]> {
    const rows = await this.read<{ concept_id: string; p_l0: number; p_t: number; p_g: number; p_s: number; p_f: number; version: number }>(
      'SELECT concept_id, p_l0, p_t, p_g, p_s, p_f, version FROM public.bkt_parameters',
    );
    // The items in effect: those at their concept's current version.
    const items = await this.read<ItemDbRow & { concept_id: string }>(
      `SELECT i.concept_id, i.item_id, i.p_g, i.p_s, i.p_t, i.p_f FROM public.bkt_item_parameters i
       JOIN public.bkt_parameters p ON p.concept_id = i.concept_id AND p.version = i.version`,
    );
    const byConcept = itemsByConcept(items);
    return rows.map((r) => ({
      conceptId: r.concept_id,
      params: makeParams({ prior: r.p_l0, learn: r.p_t, guess: r.p_g, slip: r.p_s, forget: r.p_f }),
      version: r.version,
      items: byConcept.get(r.concept_id) ?? [],
    }));
  }

  /** Sets a concept's parameters (a new version each time). Used by tests now, by fit jobs and the admin API later. */
  async upsertParameters(conceptId: string, p: BktParams, fit?: { fittedAt: string; sampleSize: number }): Promise<number> {
    const rows = await this.read<{ version: number }>(
      `INSERT INTO public.bkt_parameters (concept_id, p_l0, p_t, p_g, p_s, p_f, fitted_at, sample_size)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (concept_id) DO UPDATE SET p_l0 = excluded.p_l0, p_t = excluded.p_t, p_g = excluded.p_g,
         p_s = excluded.p_s, p_f = excluded.p_f, fitted_at = excluded.fitted_at, sample_size = excluded.sample_size,
         version = public.bkt_parameters.version + 1, updated_at = now()
       RETURNING version`,
      [conceptId, p.prior, p.learn, p.guess, p.slip, p.forget, fit?.fittedAt ?? null, fit?.sampleSize ?? 0],
    );
    return rows[0].version;
  }

  /** For /ready: the database answers and every migration on disk is applied. */
  async readiness(): Promise<{ pendingMigrations: string[] }> {
    try {
      // The files on disk do not change while the process runs: read them once.
      this.migrationFiles ??= readMigrations();
      return { pendingMigrations: await pendingMigrations(this.db, this.migrationFiles) };
    } catch (e) {
      throw translateDbError(e);
    }
  }

  private async read<R extends object>(text: string, params: (string | number | null)[] = []): Promise<R[]> {
    try {
      return await this.db.query<R>(text, params);
    } catch (e) {
      throw translateDbError(e);
    }
  }
}

/**
 * One pair: inserts its prior row if absent and locks it, in one call (bkt_internal.lock_pair, which also sees a row
 * that another transaction inserted and committed while this one waited).
 */
async function lockPair(tx: SqlExecutor, p: PriorRow): Promise<Map<string, StoredPair>> {
  const rows = await tx.query<PairRow>(`SELECT ${PAIR_COLUMNS} FROM bkt_internal.lock_pair($1, $2, $3, $4, $5)`, [
    p.studentId,
    p.conceptId,
    p.state.known,
    p.state.unknown,
    p.paramsVersion,
  ]);
  if (rows.length !== 1) throw new Error(`lock_pair returned ${rows.length} rows for one pair`);
  return new Map([[pairKey(rows[0].student_id, rows[0].concept_id), toPair(rows[0])]]);
}

/** One answer's write: history, state and, when `inline` is given, the outbox row. */
const WRITE_RESPONSE = `SELECT bkt_internal.write_response(${Array.from({ length: 23 }, (_, i) => `$${i + 1}`).join(', ')})`;

function writeResponseParams(p: PairWrite, h: HistoryWrite, inline: InlineWrite | undefined): SqlValue[] {
  if (p.studentId !== h.studentId || p.conceptId !== h.conceptId) throw new Error('history row of another pair');
  return [
    p.studentId,
    p.conceptId,
    p.state.known,
    p.state.unknown,
    p.version,
    p.nResponses,
    p.nCorrect,
    p.paramsVersion,
    p.firstAnsweredAt,
    p.lastAnsweredAt,
    h.seq,
    h.masteryBefore,
    h.masteryAfter,
    h.pUnknownAfter,
    h.pCorrect,
    h.correct,
    h.responseId,
    h.sessionId,
    h.paramsVersion,
    h.answeredAt,
    inline?.threshold ?? null,
    h.itemId,
    h.paramsSource,
  ];
}

/** Several pairs: inserts the absent ones' prior rows, then locks them all in sorted order. */
async function insertAndLock(tx: SqlExecutor, priors: readonly PriorRow[]): Promise<Map<string, StoredPair>> {
  await insertPriors(tx, priors);
  return lockPairs(tx, priors);
}

async function insertPriors(tx: SqlExecutor, priors: readonly PriorRow[]): Promise<void> {
  await tx.query(
    `INSERT INTO public.student_mastery (student_id, concept_id, p_known, p_unknown, params_version)
     SELECT x.student_id, x.concept_id, x.p_known, x.p_unknown, x.params_version
     FROM jsonb_to_recordset($1::jsonb) AS x(student_id uuid, concept_id uuid, p_known float8, p_unknown float8, params_version int)
     ORDER BY x.student_id, x.concept_id
     ON CONFLICT (student_id, concept_id) DO NOTHING`,
    [
      JSON.stringify(
        priors.map((p) => ({
          student_id: p.studentId,
          concept_id: p.conceptId,
          p_known: p.state.known,
          p_unknown: p.state.unknown,
          params_version: p.paramsVersion,
        })),
      ),
    ],
  );
}

async function lockPairs(tx: SqlExecutor, keys: readonly PairKey[]): Promise<Map<string, StoredPair>> {
  const rows =
    keys.length === 1
      ? await tx.query<PairRow>(
          `SELECT ${PAIR_COLUMNS} FROM public.student_mastery WHERE student_id = $1 AND concept_id = $2 FOR UPDATE`,
          [keys[0].studentId, keys[0].conceptId],
        )
      : await tx.query<PairRow>(
          // ORDER BY below FOR UPDATE: rows are locked in sorted order, the same order in every transaction.
          `SELECT ${PAIR_COLUMNS.split(', ').map((c) => `sm.${c}`).join(', ')}
           FROM public.student_mastery sm
           JOIN ${jsonRows('$1', 'student_id uuid, concept_id uuid', keys.length, 'k')}
             ON sm.student_id = k.student_id AND sm.concept_id = k.concept_id
           ORDER BY sm.student_id, sm.concept_id
           FOR UPDATE OF sm`,
          [JSON.stringify(keys.map((k) => ({ student_id: k.studentId, concept_id: k.conceptId })))],
        );
  return new Map(rows.map((r) => [pairKey(r.student_id, r.concept_id), toPair(r)]));
}

/** Runs after the locks are held, as a statement of its own: it then sees every response committed before them. */
async function readResponses(tx: SqlExecutor, ids: readonly string[]): Promise<Map<string, RecordedResponse>> {
  if (ids.length === 0) return new Map();
  const rows = await tx.query<ResponseRow>(
    `SELECT response_id, student_id, concept_id, seq, response_correct, session_id,
       (extract(epoch FROM answered_at) * 1000000)::bigint::text AS answered_us,
       mastery_before, mastery_after, p_unknown_after, p_correct, params_version, item_id,
       ${PARAMS_SOURCE_SQL} AS params_source
     FROM public.mastery_history
     WHERE response_id IN (SELECT value::uuid FROM jsonb_array_elements_text($1::jsonb))`,
    [JSON.stringify(ids)],
  );
  return new Map(
    rows.map((r) => [
      r.response_id,
      {
        responseId: r.response_id,
        studentId: r.student_id,
        conceptId: r.concept_id,
        seq: r.seq,
        correct: r.response_correct,
        sessionId: r.session_id,
        answeredAtMicros: r.answered_us,
        masteryBefore: r.mastery_before,
        masteryAfter: r.mastery_after,
        pUnknownAfter: r.p_unknown_after,
        pCorrect: r.p_correct,
        paramsVersion: r.params_version,
        itemId: r.item_id,
        paramsSource: r.params_source,
      },
    ]),
  );
}

function pairJson(p: PairWrite) {
  return {
    student_id: p.studentId,
    concept_id: p.conceptId,
    p_known: p.state.known,
    p_unknown: p.state.unknown,
    version: p.version,
    n_responses: p.nResponses,
    n_correct: p.nCorrect,
    params_version: p.paramsVersion,
    first_answered_at: p.firstAnsweredAt,
    last_answered_at: p.lastAnsweredAt,
  };
}

function historyJson(h: HistoryWrite) {
  return {
    student_id: h.studentId,
    concept_id: h.conceptId,
    seq: h.seq,
    mastery_before: h.masteryBefore,
    mastery_after: h.masteryAfter,
    p_unknown_after: h.pUnknownAfter,
    p_correct: h.pCorrect,
    response_correct: h.correct,
    response_id: h.responseId,
    session_id: h.sessionId,
    params_version: h.paramsVersion,
    answered_at: h.answeredAt,
    item_id: h.itemId,
    params_source: h.paramsSource,
  };
}
