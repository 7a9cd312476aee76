/**
 * The SQL of imports (the ImportStore port): bulk writes of whole pairs and their history with one `unnest` of
 * array parameters per table, so a batch of tens of thousands of rows is a handful of statements.
 */
import type { MasteryState } from '../bkt/index.js';
import type { HistoryColumns, ImportStore } from '../service/fit-ports.js';
import { pairKey, type PairKey, type PairWrite, type StoredPair } from '../service/ports.js';
import { translateDbError } from './db-errors.js';
import { boolArray, numberArray, uuidArray } from './sql-arrays.js';
import type { SqlDatabase, SqlExecutor } from './sql.js';
import { type PairRow, type PairsWrittenHook, toPair } from './sql-store.js';

class Conflicts extends Error {
  constructor(readonly pairs: PairKey[]) {
    super('pairs gained state');
  }
}

const byPair = (a: PairKey, b: PairKey) =>
  a.studentId < b.studentId ? -1 : a.studentId > b.studentId ? 1 : a.conceptId < b.conceptId ? -1 : a.conceptId > b.conceptId ? 1 : 0;

async function insertHistory(tx: SqlExecutor, h: HistoryColumns): Promise<void> {
  if (h.length === 0) return;
  await tx.query(
    `INSERT INTO public.mastery_history (student_id, concept_id, seq, mastery_before, mastery_after, p_unknown_after,
       p_correct, response_correct, response_id, params_version)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::float8[], $5::float8[], $6::float8[], $7::float8[],
       $8::boolean[], $9::uuid[], $10::int[])`,
    [
      uuidArray(h.studentIds),
      uuidArray(h.conceptIds),
      numberArray(h.seq),
      numberArray(h.masteryBefore),
      numberArray(h.masteryAfter),
      numberArray(h.pUnknownAfter),
      numberArray(h.pCorrect),
      boolArray(h.correct),
      uuidArray(h.responseIds),
      numberArray(h.paramsVersion),
    ],
  );
}

function pairColumns(pairs: readonly PairWrite[]) {
  const col = <T>(f: (p: PairWrite) => T) => pairs.map(f);
  return [
    uuidArray(col((p) => p.studentId)),
    uuidArray(col((p) => p.conceptId)),
    numberArray(col((p) => p.state.known)),
    numberArray(col((p) => p.state.unknown)),
    numberArray(col((p) => p.version)),
    numberArray(col((p) => p.nResponses)),
    numberArray(col((p) => p.nCorrect)),
    numberArray(col((p) => p.paramsVersion)),
  ];
}

const PAIRS_UNNEST = `unnest($1::uuid[], $2::uuid[], $3::float8[], $4::float8[], $5::int[], $6::int[], $7::int[], $8::int[])
  AS x(student_id, concept_id, p_known, p_unknown, version, n_responses, n_correct, params_version)`;

export class SqlImportStore implements ImportStore {
  /** `pairsWritten` runs in each batch's transaction after its pairs are written (the graph outbox). */
  constructor(
    private readonly db: SqlDatabase,
    private readonly pairsWritten?: PairsWrittenHook,
  ) {}

  async existingResponseIds(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.q<{ response_id: string }>(
      'SELECT response_id FROM public.mastery_history WHERE response_id = ANY($1::uuid[])',
      [uuidArray(ids)],
    );
    return new Set(rows.map((r) => r.response_id));
  }

  async pairsWithState(pairs: readonly PairKey[]): Promise<PairKey[]> {
    if (pairs.length === 0) return [];
    const rows = await this.q<{ student_id: string; concept_id: string }>(
      `SELECT sm.student_id, sm.concept_id FROM public.student_mastery sm
       JOIN unnest($1::uuid[], $2::uuid[]) AS k(student_id, concept_id)
         ON sm.student_id = k.student_id AND sm.concept_id = k.concept_id
       WHERE sm.version > 0`,
      [uuidArray(pairs.map((p) => p.studentId)), uuidArray(pairs.map((p) => p.conceptId))],
    );
    return rows.map((r) => ({ studentId: r.student_id, conceptId: r.concept_id }));
  }

  async insertPairs(pairs: readonly PairWrite[], history: HistoryColumns): Promise<{ conflicts: PairKey[] }> {
    const sorted = [...pairs].sort(byPair);
    try {
      await this.db.transaction(async (tx) => {
        // A row that exists but never answered (version 0) is taken over; one with answers is a conflict.
        const written = await tx.query<{ student_id: string; concept_id: string }>(
          `INSERT INTO public.student_mastery AS sm (student_id, concept_id, p_known, p_unknown, version, n_responses,
             n_correct, params_version, first_answered_at, last_answered_at)
           SELECT x.student_id, x.concept_id, x.p_known, x.p_unknown, x.version, x.n_responses, x.n_correct,
             x.params_version, now(), now()
           FROM ${PAIRS_UNNEST}
           ON CONFLICT (student_id, concept_id) DO UPDATE SET p_known = excluded.p_known, p_unknown = excluded.p_unknown,
             version = excluded.version, n_responses = excluded.n_responses, n_correct = excluded.n_correct,
             params_version = excluded.params_version, first_answered_at = now(), last_answered_at = now(), updated_at = now()
           WHERE sm.version = 0
           RETURNING student_id, concept_id`,
          pairColumns(sorted),
        );
        if (written.length !== sorted.length) {
          const ok = new Set(written.map((r) => pairKey(r.student_id, r.concept_id)));
          throw new Conflicts(sorted.filter((p) => !ok.has(pairKey(p.studentId, p.conceptId))));
        }
        await insertHistory(tx, history);
        await this.pairsWritten?.(tx, sorted);
      });
      return { conflicts: [] };
    } catch (e) {
      if (e instanceof Conflicts) return { conflicts: e.pairs.map((p) => ({ studentId: p.studentId, conceptId: p.conceptId })) };
      throw translateDbError(e);
    }
  }

  async appendPairs(
    priors: readonly { readonly key: PairKey; readonly state: MasteryState; readonly paramsVersion: number }[],
    plan: (locked: ReadonlyMap<string, StoredPair>) => { pairs: PairWrite[]; history: HistoryColumns },
  ): Promise<void> {
    const sorted = [...priors].sort((a, b) => byPair(a.key, b.key));
    const students = uuidArray(sorted.map((p) => p.key.studentId));
    const concepts = uuidArray(sorted.map((p) => p.key.conceptId));
    try {
      await this.db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO public.student_mastery (student_id, concept_id, p_known, p_unknown, params_version)
           SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::float8[], $4::float8[], $5::int[])
           ON CONFLICT (student_id, concept_id) DO NOTHING`,
          [
            students,
            concepts,
            numberArray(sorted.map((p) => p.state.known)),
            numberArray(sorted.map((p) => p.state.unknown)),
            numberArray(sorted.map((p) => p.paramsVersion)),
          ],
        );
        const rows = await tx.query<PairRow>(
          `SELECT sm.student_id, sm.concept_id, sm.p_known, sm.p_unknown, sm.version, sm.n_responses, sm.n_correct,
             sm.params_version, sm.updated_at
           FROM public.student_mastery sm
           JOIN unnest($1::uuid[], $2::uuid[]) AS k(student_id, concept_id)
             ON sm.student_id = k.student_id AND sm.concept_id = k.concept_id
           ORDER BY sm.student_id, sm.concept_id
           FOR UPDATE OF sm`,
          [students, concepts],
        );
        const locked = new Map<string, StoredPair>(rows.map((r) => [pairKey(r.student_id, r.concept_id), toPair(r)]));
        const decided = plan(locked);
        await tx.query(
          `UPDATE public.student_mastery sm SET p_known = x.p_known, p_unknown = x.p_unknown, version = x.version,
             n_responses = x.n_responses, n_correct = x.n_correct, params_version = x.params_version,
             first_answered_at = COALESCE(sm.first_answered_at, now()), last_answered_at = now(), updated_at = now()
           FROM ${PAIRS_UNNEST}
           WHERE sm.student_id = x.student_id AND sm.concept_id = x.concept_id`,
          pairColumns(decided.pairs),
        );
        await insertHistory(tx, decided.history);
        await this.pairsWritten?.(tx, decided.pairs);
      });
    } catch (e) {
      throw translateDbError(e);
    }
  }

  private async q<R extends object>(text: string, params: string[]): Promise<R[]> {
    try {
      return await this.db.query<R>(text, params);
    } catch (e) {
      throw translateDbError(e);
    }
  }
}
