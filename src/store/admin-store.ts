/** The SQL of parameter administration and history reads (the ParameterStore and HistoryStore ports). */
import { makeParams, type BktParams } from '../bkt/index.js';
import type { HistoryQuery, HistoryRow, HistoryStore, ParameterStore, StoredParameters } from '../service/fit-ports.js';
import type { ParamsOrigin } from '../service/ports.js';
import { translateDbError } from './db-errors.js';
import { numberArray, uuidArray } from './sql-arrays.js';
import { PARAMS_SOURCE_SQL } from './sql-store.js';
import type { SqlDatabase, SqlExecutor, SqlValue } from './sql.js';
import type { ItemParams } from '../service/ports.js';
import { fromItemRow, ITEM_VALUE_COLUMNS, type ItemDbRow, type ItemRowWrite, toItemRow } from './item-rows.js';

/** Writes a concept's items at `version` (inside the caller's transaction, with the concept's row). */
export async function insertItems(tx: SqlExecutor, conceptId: string, version: number, items: readonly ItemParams[]): Promise<void> {
  await insertItemRows(tx, items.map((i) => toItemRow(conceptId, version, i)));
}

/** Writes item rows of several concepts and versions in one statement (inside the caller's transaction). */
export async function insertItemRows(tx: SqlExecutor, rows: readonly ItemRowWrite[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `INSERT INTO public.bkt_item_parameters (concept_id, item_id, version, ${ITEM_VALUE_COLUMNS})
     SELECT x.concept_id, x.item_id, x.version, x.p_g, x.p_s, x.p_t, x.p_f
     FROM jsonb_to_recordset($1::jsonb)
       AS x(concept_id uuid, item_id text, version int, p_g float8, p_s float8, p_t float8, p_f float8)`,
    [JSON.stringify(rows)],
  );
}

/** Fitted parameters of one concept, as written with fitted_at = now(). */
export interface FittedRow {
  readonly conceptId: string;
  readonly params: BktParams;
  readonly sampleSize: number;
}

/**
 * Writes fitted parameters (inside the caller's transaction): each concept's row created, or updated to a new
 * version, except the concepts of `createOnly` whose row appeared meanwhile (left alone). Returns the rows written.
 */
export async function upsertFitted(tx: SqlExecutor, fits: readonly FittedRow[], createOnly: readonly string[] = []): Promise<{ concept_id: string; version: number }[]> {
  const col = (f: (x: FittedRow) => number) => numberArray(fits.map(f));
  return tx.query<{ concept_id: string; version: number }>(
    `INSERT INTO public.bkt_parameters AS p (concept_id, p_l0, p_t, p_g, p_s, p_f, fitted_at, sample_size)
     SELECT x.concept_id, x.p_l0, x.p_t, x.p_g, x.p_s, x.p_f, now(), x.sample_size
     FROM unnest($1::uuid[], $2::float8[], $3::float8[], $4::float8[], $5::float8[], $6::float8[], $7::int[])
       AS x(concept_id, p_l0, p_t, p_g, p_s, p_f, sample_size)
     ORDER BY x.concept_id
     ON CONFLICT (concept_id) DO UPDATE SET p_l0 = excluded.p_l0, p_t = excluded.p_t, p_g = excluded.p_g,
       p_s = excluded.p_s, p_f = excluded.p_f, fitted_at = excluded.fitted_at, sample_size = excluded.sample_size,
       version = p.version + 1, updated_at = now()
     WHERE NOT (p.concept_id = ANY($8::uuid[]))
     RETURNING concept_id, version`,
    [
      uuidArray(fits.map((f) => f.conceptId)),
      col((f) => f.params.prior),
      col((f) => f.params.learn),
      col((f) => f.params.guess),
      col((f) => f.params.slip),
      col((f) => f.params.forget),
      col((f) => f.sampleSize),
      uuidArray(createOnly),
    ],
  );
}

interface ParamRow {
  concept_id: string;
  p_l0: number;
  p_t: number;
  p_g: number;
  p_s: number;
  p_f: number;
  version: number;
  fitted_at: Date | string | null;
  sample_size: number | null;
  updated_at: Date | string;
}

const PARAM_COLUMNS = 'concept_id, p_l0, p_t, p_g, p_s, p_f, version, fitted_at, sample_size, updated_at';

function toParameters(r: ParamRow): StoredParameters {
  return {
    conceptId: r.concept_id,
    params: makeParams({ prior: r.p_l0, learn: r.p_t, guess: r.p_g, slip: r.p_s, forget: r.p_f }),
    version: r.version,
    fittedAt: r.fitted_at === null ? null : new Date(r.fitted_at).toISOString(),
    sampleSize: r.sample_size ?? 0,
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

interface HistoryDbRow {
  concept_id: string;
  seq: number;
  response_correct: boolean;
  mastery_before: number;
  mastery_after: number;
  p_correct: number;
  params_version: number;
  response_id: string | null;
  session_id: string | null;
  answered_at: Date | string | null;
  item_id: string | null;
  params_source: ParamsOrigin;
  created_at: Date | string;
  created_us: string;
}

export class SqlAdminStore implements ParameterStore, HistoryStore {
  constructor(private readonly db: SqlDatabase) {}

  async readParameters(conceptId: string): Promise<StoredParameters | undefined> {
    const rows = await this.q<ParamRow>(`SELECT ${PARAM_COLUMNS} FROM public.bkt_parameters WHERE concept_id = $1`, [conceptId]);
    return rows[0] ? toParameters(rows[0]) : undefined;
  }

  async listParameters(afterConceptId: string | undefined, limit: number): Promise<StoredParameters[]> {
    const rows = await this.q<ParamRow>(
      `SELECT ${PARAM_COLUMNS} FROM public.bkt_parameters WHERE $1::uuid IS NULL OR concept_id > $1::uuid
       ORDER BY concept_id LIMIT $2`,
      [afterConceptId ?? null, limit],
    );
    return rows.map(toParameters);
  }

  async putParameters(conceptId: string, p: BktParams): Promise<StoredParameters> {
    try {
      return await this.db.transaction(async (tx) => {
        const rows = await tx.query<ParamRow>(
      `INSERT INTO public.bkt_parameters (concept_id, p_l0, p_t, p_g, p_s, p_f, fitted_at, sample_size)
       VALUES ($1, $2, $3, $4, $5, $6, NULL, 0)
       ON CONFLICT (concept_id) DO UPDATE SET p_l0 = excluded.p_l0, p_t = excluded.p_t, p_g = excluded.p_g,
         p_s = excluded.p_s, p_f = excluded.p_f, fitted_at = NULL, sample_size = 0,
         version = public.bkt_parameters.version + 1, updated_at = now()
       RETURNING ${PARAM_COLUMNS}`,
          [conceptId, p.prior, p.learn, p.guess, p.slip, p.forget],
        );
        // The items stay in effect: the same values under the new version.
        await tx.query(
          `INSERT INTO public.bkt_item_parameters (concept_id, item_id, version, ${ITEM_VALUE_COLUMNS})
           SELECT concept_id, item_id, $2, ${ITEM_VALUE_COLUMNS} FROM public.bkt_item_parameters
           WHERE concept_id = $1 AND version = $2 - 1`,
          [conceptId, rows[0].version],
        );
        return toParameters(rows[0]);
      });
    } catch (e) {
      throw translateDbError(e);
    }
  }

  async readItems(conceptId: string, afterItemId: string | undefined, limit: number): Promise<{ version: number; items: ItemParams[] }> {
    const v = await this.q<{ version: number }>('SELECT version FROM public.bkt_parameters WHERE concept_id = $1', [conceptId]);
    if (v.length === 0) return { version: 0, items: [] };
    const rows = await this.q<ItemDbRow>(
      `SELECT item_id, ${ITEM_VALUE_COLUMNS} FROM public.bkt_item_parameters
       WHERE concept_id = $1 AND version = $2 AND ($3::text IS NULL OR item_id COLLATE "C" > $3::text COLLATE "C")
       ORDER BY item_id COLLATE "C" LIMIT $4`,
      [conceptId, v[0].version, afterItemId ?? null, limit],
    );
    return { version: v[0].version, items: rows.map(fromItemRow) };
  }

  async putItems(conceptId: string, items: readonly ItemParams[]): Promise<number> {
    try {
      return await this.db.transaction(async (tx) => {
        const rows = await tx.query<{ version: number }>(
          `INSERT INTO public.bkt_parameters (concept_id) VALUES ($1)
           ON CONFLICT (concept_id) DO UPDATE SET version = public.bkt_parameters.version + 1, updated_at = now()
           RETURNING version`,
          [conceptId],
        );
        const version = rows[0].version;
        await insertItems(tx, conceptId, version, items);
        return version;
      });
    } catch (e) {
      throw translateDbError(e);
    }
  }

  async readHistory(q: HistoryQuery): Promise<HistoryRow[]> {
    // Chronological, with (created_at, concept_id, seq) as the keyset: created_at alone repeats within a batch
    // or an import (one transaction, one now()), and seq repeats across concepts.
    const after = q.after;
    const rows = await this.q<HistoryDbRow>(
      `SELECT concept_id, seq, response_correct, mastery_before, mastery_after, p_correct, params_version, response_id,
         session_id, answered_at, item_id, ${PARAMS_SOURCE_SQL} AS params_source, created_at,
         ((extract(epoch FROM created_at) * 1000000)::bigint)::text AS created_us
       FROM public.mastery_history
       WHERE student_id = $1
         AND ($2::uuid IS NULL OR concept_id = $2::uuid)
         AND ($3::timestamptz IS NULL OR created_at >= $3::timestamptz)
         AND ($4::timestamptz IS NULL OR created_at < $4::timestamptz)
         AND ($5::bigint IS NULL OR (created_at, concept_id, seq) > (timestamptz 'epoch' + $5::bigint * interval '1 microsecond', $6::uuid, $7::int))
       ORDER BY created_at, concept_id, seq
       LIMIT $8`,
      [
        q.studentId,
        q.conceptId ?? null,
        q.from ?? null,
        q.to ?? null,
        after?.createdAtMicros ?? null,
        after?.conceptId ?? null,
        after?.seq ?? 0,
        q.limit,
      ],
    );
    return rows.map((r) => ({
      conceptId: r.concept_id,
      seq: r.seq,
      correct: r.response_correct,
      masteryBefore: r.mastery_before,
      masteryAfter: r.mastery_after,
      pCorrect: r.p_correct,
      paramsVersion: r.params_version,
      responseId: r.response_id,
      sessionId: r.session_id,
      answeredAt: r.answered_at === null ? null : new Date(r.answered_at).toISOString(),
      itemId: r.item_id,
      paramsSource: r.params_source,
      createdAt: new Date(r.created_at).toISOString(),
      createdAtMicros: r.created_us,
    }));
  }

  private async q<R extends object>(text: string, params: SqlValue[]): Promise<R[]> {
    try {
      return await this.db.query<R>(text, params);
    } catch (e) {
      throw translateDbError(e);
    }
  }
}
