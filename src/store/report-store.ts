/** The SQL of the admin report (the ReportStore port): aggregates computed in the database, never row by row here. */
import { makeParams } from '../bkt/index.js';
import { HASH_BUCKETS, type OpportunityRow, type ReportStore } from '../service/report-service.js';
import { translateDbError } from './db-errors.js';
import type { SqlDatabase, SqlValue } from './sql.js';

export class SqlReportStore implements ReportStore {
  constructor(private readonly db: SqlDatabase) {}

  async historySize(): Promise<number> {
    // The planner's estimate is free; a table never analysed (-1) or an empty estimate falls back to counting.
    const est = await this.q<{ n: number | string }>(
      "SELECT reltuples::bigint AS n FROM pg_catalog.pg_class WHERE oid = 'public.mastery_history'::regclass",
      [],
    );
    const n = Number(est[0]?.n ?? -1);
    if (n > 0) return n;
    const exact = await this.q<{ n: number | string }>('SELECT count(*) AS n FROM public.mastery_history', []);
    return Number(exact[0].n);
  }

  async opportunityRows(maxOpportunity: number, keep: number): Promise<OpportunityRow[]> {
    const sampled = keep < HASH_BUCKETS;
    const rows = await this.q<{ concept_id: string; seq: number; students: number | string; errors: number | string; predicted: number }>(
      `SELECT concept_id, seq, count(*) AS students,
              count(*) FILTER (WHERE NOT response_correct) AS errors,
              sum(1 - p_correct) AS predicted
         FROM public.mastery_history
        WHERE seq <= $1 ${sampled ? `AND (hashtext(student_id::text) & ${HASH_BUCKETS - 1}) < $2` : 'AND $2::int IS NOT NULL'}
        GROUP BY concept_id, seq`,
      [maxOpportunity, keep],
    );
    return rows.map((r) => ({
      conceptId: r.concept_id,
      opportunity: r.seq,
      students: Number(r.students),
      errors: Number(r.errors),
      predictedErrors: Number(r.predicted),
    }));
  }

  async masteryBands(bands: number): Promise<{ conceptId: string; band: number; students: number }[]> {
    const rows = await this.q<{ concept_id: string; band: number; students: number | string }>(
      `SELECT concept_id, LEAST(floor(p_known * $1)::int, $1 - 1) AS band, count(*) AS students
         FROM public.student_mastery GROUP BY 1, 2`,
      [bands],
    );
    return rows.map((r) => ({ conceptId: r.concept_id, band: Number(r.band), students: Number(r.students) }));
  }

  async activeParameters(limit: number) {
    const rows = await this.q<{ concept_id: string; p_l0: number; p_t: number; p_g: number; p_s: number; p_f: number; version: number; fitted_at: Date | string | null; sample_size: number | null }>(
      `SELECT concept_id, p_l0, p_t, p_g, p_s, p_f, version, fitted_at, sample_size FROM public.bkt_parameters ORDER BY concept_id LIMIT $1`,
      [limit],
    );
    return rows.map((r) => ({
      conceptId: r.concept_id,
      params: makeParams({ prior: r.p_l0, learn: r.p_t, guess: r.p_g, slip: r.p_s, forget: r.p_f }),
      version: r.version,
      fittedAt: r.fitted_at === null ? null : new Date(r.fitted_at).toISOString(),
      sampleSize: r.sample_size ?? 0,
    }));
  }

  async latestFitJobId(): Promise<string | undefined> {
    const rows = await this.q<{ id: string }>('SELECT id FROM bkt_internal.fit_jobs ORDER BY created_at DESC, id LIMIT 1', []);
    return rows[0]?.id;
  }

  private async q<R extends object>(text: string, params: SqlValue[]): Promise<R[]> {
    try {
      return await this.db.query<R>(text, params);
    } catch (err) {
      throw translateDbError(err);
    }
  }
}
