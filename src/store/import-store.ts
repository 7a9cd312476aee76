/**
 * The SQL of imports (the ImportStore port): bulk writes of whole pairs, with one `unnest` of array parameters per
 * statement, and of their history by binary COPY, so a batch of tens of thousands of rows is a handful of statements.
 */
import { randomFillSync } from 'node:crypto';
import type { MasteryState } from '../bkt/index.js';
import { PARAMS_ORIGINS, type HistoryColumns, type ImportStore } from '../service/fit-ports.js';
import { byPairKey as byPair } from '../service/import-ids.js';
import { pairKey, type PairKey, type PairWrite, type StoredPair } from '../service/ports.js';
import { translateDbError } from './db-errors.js';
import { BinaryCopyWriter, uuidBytes } from './copy-binary.js';
import { numberArray, uuidArray } from './sql-arrays.js';
import type { SqlDatabase, SqlExecutor } from './sql.js';
import { type PairRow, type PairsWrittenHook, toPair } from './sql-store.js';

class Conflicts extends Error {
  constructor(readonly pairs: PairKey[]) {
    super('pairs gained state');
  }
}

const HISTORY_COLUMNS = [
  'id', 'student_id', 'concept_id', 'seq', 'mastery_before', 'mastery_after', 'p_unknown_after', 'p_correct',
  'response_correct', 'response_id', 'params_version', 'params_source', 'item_id',
];

/**
 * Time-ordered row ids in the UUIDv7 layout (RFC 9562): 48 bits of Unix milliseconds, then a 32-bit counter that
 * only grows within this process (in rand_a and the top of rand_b, the RFC's "fixed-length dedicated counter"),
 * then 42 random bits. Consecutive ids sort in creation order, so a bulk load appends to the primary key's index
 * instead of inserting all over it. Random bits come from one draw per batch, not one per id.
 */
export class TimeOrderedIds {
  private counter = 0;
  private lastMs = 0;

  /** Writes `n` ids, 16 bytes each, into `out`. */
  fill(out: Uint8Array, n: number): void {
    randomFillSync(out, 0, 16 * n);
    const ms = Math.max(Date.now(), this.lastMs);
    if (ms !== this.lastMs) this.counter = 0;
    this.lastMs = ms;
    const hi = Math.floor(ms / 2 ** 16);
    const lo = ms % 2 ** 16;
    for (let i = 0; i < n; i++) {
      const at = 16 * i;
      const c = this.counter++ >>> 0;
      out[at] = hi >>> 24;
      out[at + 1] = (hi >>> 16) & 0xff;
      out[at + 2] = (hi >>> 8) & 0xff;
      out[at + 3] = hi & 0xff;
      out[at + 4] = lo >>> 8;
      out[at + 5] = lo & 0xff;
      out[at + 6] = 0x70 | (c >>> 28);
      out[at + 7] = (c >>> 20) & 0xff;
      out[at + 8] = 0x80 | ((c >>> 14) & 0x3f);
      out[at + 9] = (c >>> 6) & 0xff;
      out[at + 10] = ((c & 0x3f) << 2) | (out[at + 10] & 0x03);
    }
    if (this.counter >= 2 ** 32) {
      // Four billion ids in one millisecond cannot happen; move to the next one rather than wrap.
      this.lastMs++;
      this.counter = 0;
    }
  }
}

const rowIds = new TimeOrderedIds();

/** The batch's history rows by binary COPY, with time-ordered row ids (above). */
async function insertHistory(tx: SqlExecutor, pairs: readonly PairWrite[], h: HistoryColumns): Promise<void> {
  if (h.length === 0) return;
  const keys = new Uint8Array(32 * pairs.length);
  pairs.forEach((p, i) => {
    uuidBytes(p.studentId, keys, 32 * i);
    uuidBytes(p.conceptId, keys, 32 * i + 16);
  });
  const ids = new Uint8Array(16 * h.length);
  rowIds.fill(ids, h.length);
  const w = new BinaryCopyWriter(160 * h.length + 64);
  for (let i = 0; i < h.length; i++) {
    const k = 32 * h.pairOf[i];
    w.row(HISTORY_COLUMNS.length)
      .uuidFrom(ids, 16 * i)
      .uuidFrom(keys, k)
      .uuidFrom(keys, k + 16)
      .int4(h.seq[i])
      .float8(h.masteryBefore[i])
      .float8(h.masteryAfter[i])
      .float8(h.pUnknownAfter[i])
      .float8(h.pCorrect[i])
      .bool(h.correct[i] === 1)
      .uuidFrom(h.responseIds, 16 * i)
      .int4(h.paramsVersion[i])
      .text(PARAMS_ORIGINS[h.paramsSource[i]]);
    const item = h.itemOf[i];
    if (item < 0) w.null();
    else w.text(h.items[item]);
  }
  await tx.copyIn('public.mastery_history', HISTORY_COLUMNS, w.finish());
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
        await insertHistory(tx, pairs, history);
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
        await insertHistory(tx, decided.pairs, decided.history);
        await this.pairsWritten?.(tx, decided.pairs);
      });
    } catch (e) {
      throw translateDbError(e);
    }
  }

  async settle(): Promise<boolean> {
    try {
      // Outside any transaction (VACUUM cannot run in one). The visibility map is what the next reads need now; the
      // statistics (ANALYZE, about as long again) are left to autovacuum, which an import of this size triggers.
      await this.db.query('VACUUM public.mastery_history');
      return true;
    } catch {
      return false;
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
