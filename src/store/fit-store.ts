/**
 * The SQL of fit jobs (the FitJobStore port): the jobs table, keyset pages of history, applying parameters with a
 * version check, and replaying pairs in locked batches.
 */
import type {
  AppliedParameters, FitJobOptions, FitJobProgress, FitJobRecord, FitJobResults, FitJobStatus, FitJobStore, FittedParameters,
  HistoryCursor, FitHistoryPage, ReplayPair, ReplayWrite,
} from '../service/fit-ports.js';
import type { PairWrite } from '../service/ports.js';
import { insertItemRows, upsertFitted } from './admin-store.js';
import { ITEM_VALUE_COLUMNS, type ItemDbRow, itemsByConcept, toItemRow } from './item-rows.js';
import { translateDbError } from './db-errors.js';
import type { PairsWrittenHook } from './sql-store.js';
import { numberArray, uuidArray } from './sql-arrays.js';
import type { SqlDatabase, SqlExecutor, SqlValue } from './sql.js';

interface JobRow {
  id: string;
  status: FitJobStatus;
  options: FitJobOptions | string;
  progress: FitJobProgress | string;
  results: FitJobResults | string | null;
  error: string | null;
  owner: string;
  created_at: Date | string;
  started_at: Date | string | null;
  finished_at: Date | string | null;
  heartbeat_at: Date | string;
}

type ItemRow = ItemDbRow & { readonly concept_id: string };

/**
 * The items of the versions just written: a fit by item writes its own; any other fit carries the concept's items
 * of the version it replaced. Returns every item row written.
 */
async function writeItems(tx: SqlExecutor, fits: readonly FittedParameters[], written: readonly { concept_id: string; version: number }[]): Promise<ItemRow[]> {
  if (written.length === 0) return [];
  const fitOf = new Map(fits.map((f) => [f.conceptId, f]));
  const carried = written.filter((w) => fitOf.get(w.concept_id)!.items === undefined);
  const own = written.flatMap((w) =>
    (fitOf.get(w.concept_id)!.items ?? []).map((i) => toItemRow(w.concept_id, w.version, i)),
  );
  const rows: ItemRow[] = [];
  if (carried.length > 0) {
    rows.push(
      ...(await tx.query<ItemRow>(
        `INSERT INTO public.bkt_item_parameters (concept_id, item_id, version, ${ITEM_VALUE_COLUMNS})
         SELECT i.concept_id, i.item_id, x.version, i.p_g, i.p_s, i.p_t, i.p_f
         FROM unnest($1::uuid[], $2::int[]) AS x(concept_id, version)
         JOIN public.bkt_item_parameters i ON i.concept_id = x.concept_id AND i.version = x.version - 1
         RETURNING concept_id, item_id, ${ITEM_VALUE_COLUMNS}`,
        [uuidArray(carried.map((w) => w.concept_id)), numberArray(carried.map((w) => w.version))],
      )),
    );
  }
  await insertItemRows(tx, own);
  rows.push(...own);
  return rows;
}

const iso = (v: Date | string) => new Date(v).toISOString();
const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

function toJob(r: JobRow): FitJobRecord {
  return {
    id: r.id,
    status: r.status,
    options: json(r.options),
    progress: { ...EMPTY_PROGRESS, ...json(r.progress) },
    results: r.results === null ? null : json(r.results),
    error: r.error,
    owner: r.owner,
    createdAt: iso(r.created_at),
    startedAt: r.started_at === null ? null : iso(r.started_at),
    finishedAt: r.finished_at === null ? null : iso(r.finished_at),
    heartbeatAt: iso(r.heartbeat_at),
  };
}

const EMPTY_PROGRESS: FitJobProgress = { phase: 'queued', rowsRead: 0, unitsDone: 0, unitsTotal: 0, pairsReplayed: 0, pairsTotal: 0 };

const ACTIVE = "status IN ('queued', 'running')";

export class SqlFitJobStore implements FitJobStore {
  /** `pairsWritten` runs in each replay transaction after its states are written (the graph outbox). */
  constructor(
    private readonly db: SqlDatabase,
    private readonly pairsWritten?: PairsWrittenHook,
  ) {}

  async createJob(options: FitJobOptions, owner: string): Promise<string | undefined> {
    // The unique partial index fit_jobs_one_active admits one queued or running job: a second insert conflicts.
    const rows = await this.q<{ id: string }>(
      `INSERT INTO bkt_internal.fit_jobs (options, owner) VALUES ($1::jsonb, $2)
       ON CONFLICT ((true)) WHERE ${ACTIVE} DO NOTHING RETURNING id`,
      [JSON.stringify(options), owner],
    );
    return rows[0]?.id;
  }

  async readJob(id: string): Promise<FitJobRecord | undefined> {
    const rows = await this.q<JobRow>('SELECT * FROM bkt_internal.fit_jobs WHERE id = $1', [id]);
    return rows[0] ? toJob(rows[0]) : undefined;
  }

  async startJob(id: string, owner: string): Promise<boolean> {
    const rows = await this.q(
      `UPDATE bkt_internal.fit_jobs SET status = 'running', started_at = now(), heartbeat_at = now(), owner = $2
       WHERE id = $1 AND status = 'queued' RETURNING 1`,
      [id, owner],
    );
    return rows.length === 1;
  }

  async heartbeat(id: string, owner: string, progress: FitJobProgress): Promise<boolean> {
    const rows = await this.q(
      `UPDATE bkt_internal.fit_jobs SET heartbeat_at = now(), progress = $3::jsonb
       WHERE id = $1 AND owner = $2 AND status = 'running' RETURNING 1`,
      [id, owner, JSON.stringify(progress)],
    );
    return rows.length === 1;
  }

  async finishJob(
    id: string,
    owner: string,
    status: 'done' | 'failed' | 'interrupted',
    progress: FitJobProgress,
    results: FitJobResults | null,
    error: string | null,
  ): Promise<void> {
    await this.q(
      `UPDATE bkt_internal.fit_jobs SET status = $3, results = $4::jsonb, error = $5, progress = $6::jsonb,
         finished_at = now(), heartbeat_at = now()
       WHERE id = $1 AND owner = $2 AND ${ACTIVE}`,
      [id, owner, status, results === null ? null : JSON.stringify(results), error, JSON.stringify(progress)],
    );
  }

  async interruptStaleJobs(staleMs: number | 'all'): Promise<string[]> {
    const rows = await this.q<{ id: string }>(
      `UPDATE bkt_internal.fit_jobs SET status = 'interrupted', finished_at = now(),
         error = 'the process running the job stopped (no heartbeat since ' || heartbeat_at::text || ')'
       WHERE ${ACTIVE} AND ($1::int IS NULL OR heartbeat_at < now() - make_interval(secs => $1::int / 1000.0))
       RETURNING id`,
      [staleMs === 'all' ? null : Math.trunc(staleMs)],
    );
    return rows.map((r) => r.id);
  }

  async parameterVersions(conceptIds: readonly string[] | null): Promise<Map<string, number>> {
    const rows = await this.q<{ concept_id: string; version: number }>(
      `SELECT concept_id, version FROM public.bkt_parameters WHERE $1::uuid[] IS NULL OR concept_id = ANY($1::uuid[])`,
      [conceptIds === null ? null : uuidArray(conceptIds)],
    );
    return new Map(rows.map((r) => [r.concept_id, r.version]));
  }

  async readHistoryPage(conceptIds: readonly string[] | null, after: HistoryCursor | null, limit: number, withItems = false): Promise<FitHistoryPage> {
    // Row comparison on the index's columns: a keyset page is an index range scan, whatever the offset.
    const rows = await this.q<{ concept_id: string; student_id: string; seq: number; response_correct: boolean; item_id?: string | null }>(
      `SELECT concept_id, student_id, seq, response_correct${withItems ? ', item_id' : ''} FROM public.mastery_history
       WHERE ($1::uuid[] IS NULL OR concept_id = ANY($1::uuid[]))
         AND ($2::uuid IS NULL OR (concept_id, student_id, seq) > ($2::uuid, $3::uuid, $4::int))
       ORDER BY concept_id, student_id, seq LIMIT $5`,
      [conceptIds === null ? null : uuidArray(conceptIds), after?.conceptId ?? null, after?.studentId ?? null, after?.seq ?? 0, limit],
    );
    const page = { conceptIds: [] as string[], studentIds: [] as string[], seqs: [] as number[], correct: [] as boolean[], itemIds: withItems ? ([] as (string | null)[]) : undefined };
    for (const r of rows) {
      page.conceptIds.push(r.concept_id);
      page.studentIds.push(r.student_id);
      page.seqs.push(r.seq);
      page.correct.push(r.response_correct);
      page.itemIds?.push(r.item_id ?? null);
    }
    return page;
  }

  async applyParameters(fits: readonly FittedParameters[]): Promise<AppliedParameters> {
    const sorted = [...fits].sort((a, b) => (a.conceptId < b.conceptId ? -1 : 1));
    try {
      const { rows, items } = await this.db.transaction(async (tx) => {
        // Lock the existing rows (in concept order) and keep only the concepts whose version has not moved.
        const current = await tx.query<{ concept_id: string; version: number }>(
          `SELECT concept_id, version FROM public.bkt_parameters WHERE concept_id = ANY($1::uuid[])
           ORDER BY concept_id FOR UPDATE`,
          [uuidArray(sorted.map((f) => f.conceptId))],
        );
        const now = new Map(current.map((r) => [r.concept_id, r.version]));
        const keep = sorted.filter((f) => (now.get(f.conceptId) ?? 0) === f.expectedVersion);
        if (keep.length === 0) return { rows: [], items: [] };
        // A row created meanwhile for a concept that had none conflicts and is left alone (versions start at 1).
        const rows = await upsertFitted(tx, keep, keep.filter((f) => f.expectedVersion === 0).map((f) => f.conceptId));
        return { rows, items: await writeItems(tx, keep, rows) };
      });
      const written = new Map(rows.map((r) => [r.concept_id, r.version]));
      return { written, items: itemsByConcept(items), skipped: sorted.filter((f) => !written.has(f.conceptId)).map((f) => f.conceptId) };
    } catch (e) {
      throw translateDbError(e);
    }
  }

  async countPairs(conceptId: string): Promise<number> {
    const rows = await this.q<{ n: number }>('SELECT count(*)::int AS n FROM public.student_mastery WHERE concept_id = $1', [conceptId]);
    return rows[0].n;
  }

  async replayPairs(
    conceptId: string,
    afterStudentId: string | null,
    limit: number,
    plan: (pairs: readonly ReplayPair[]) => ReplayWrite[],
  ): Promise<{ lastStudentId: string | undefined; pairs: number }> {
    try {
      return await this.db.transaction(async (tx) => {
        const locked = await tx.query<{ student_id: string; version: number }>(
          `SELECT student_id, version FROM public.student_mastery
           WHERE concept_id = $1 AND ($2::uuid IS NULL OR student_id > $2::uuid)
           ORDER BY student_id LIMIT $3 FOR UPDATE`,
          [conceptId, afterStudentId, limit],
        );
        if (locked.length === 0) return { lastStudentId: undefined, pairs: 0 };
        const students = locked.map((r) => r.student_id);
        // Read after the locks: every answer committed before them is seen, none can arrive until commit.
        const history = await tx.query<{ student_id: string; seq: number; response_correct: boolean; item_id: string | null }>(
          `SELECT student_id, seq, response_correct, item_id FROM public.mastery_history
           WHERE concept_id = $1 AND student_id = ANY($2::uuid[]) ORDER BY student_id, seq`,
          [conceptId, uuidArray(students)],
        );
        const byStudent = new Map<string, { correct: number[]; items: (string | null)[] }>();
        for (const h of history) {
          let rows = byStudent.get(h.student_id);
          if (!rows) byStudent.set(h.student_id, (rows = { correct: [], items: [] }));
          rows.correct.push(h.response_correct ? 1 : 0);
          rows.items.push(h.item_id);
        }
        const pairs: ReplayPair[] = locked.map((r) => ({
          studentId: r.student_id,
          conceptId,
          version: r.version,
          correct: Uint8Array.from(byStudent.get(r.student_id)?.correct ?? []),
          itemIds: byStudent.get(r.student_id)?.items ?? [],
        }));
        const writes = plan(pairs);
        await tx.query(
          `UPDATE public.student_mastery sm SET p_known = x.p_known, p_unknown = x.p_unknown,
             params_version = x.params_version, updated_at = now()
           FROM unnest($2::uuid[], $3::float8[], $4::float8[], $5::int[]) AS x(student_id, p_known, p_unknown, params_version)
           WHERE sm.concept_id = $1 AND sm.student_id = x.student_id`,
          [
            conceptId,
            uuidArray(writes.map((w) => w.studentId)),
            numberArray(writes.map((w) => w.state.known)),
            numberArray(writes.map((w) => w.state.unknown)),
            numberArray(writes.map((w) => w.paramsVersion)),
          ],
        );
        if (this.pairsWritten) {
          const byStudent = new Map(pairs.map((p) => [p.studentId, p]));
          await this.pairsWritten(
            tx,
            writes.map((w): PairWrite => {
              const p = byStudent.get(w.studentId)!;
              return {
                studentId: w.studentId,
                conceptId: w.conceptId,
                state: w.state,
                version: p.version,
                nResponses: p.correct.length,
                nCorrect: p.correct.reduce((n, c) => n + c, 0),
                paramsVersion: w.paramsVersion,
                firstAnsweredAt: null,
                lastAnsweredAt: null,
              };
            }),
          );
        }
        return { lastStudentId: students[students.length - 1], pairs: locked.length };
      });
    } catch (e) {
      throw translateDbError(e);
    }
  }

  private async q<R extends object = Record<string, unknown>>(text: string, params: SqlValue[]): Promise<R[]> {
    try {
      return await this.db.query<R>(text, params);
    } catch (e) {
      throw translateDbError(e);
    }
  }
}
