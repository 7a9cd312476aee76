/**
 * The graph projection's outbox in SQL (tables in migration 20261127200000_graph_outbox.sql; design in docs/graph.md):
 *   - `SqlOutbox`, the OutboxPort the relay works through (one statement per call; the relay's read and delete call
 *     functions whose plans the connection keeps, migration 20261127400000_graph_relay_functions.sql; lease by the
 *     database clock);
 *   - `pairsWrittenHook()`, the outbox upsert that runs inside every update transaction while the projection is on;
 * The operator's side for `bkt graph` (on/off, queueing every pair, status) is in graph-admin.ts.
 */
import type { PairWrite } from '../service/ports.js';
import type { OutboxPort, OutboxRow, OutboxSent, OutboxStats } from '../service/graph-port.js';
import type { PairsWrittenHook } from './sql-store.js';
import type { SqlDatabase, SqlExecutor } from './sql.js';

/**
 * How long an instance may act on the on/off flag it read before reading it again (inside the update transaction).
 * `bkt graph enable` waits this long (plus a margin) before queueing every pair, so no update is missed.
 */
export const GRAPH_FLAG_TTL_MS = 1_000;

/** concept_id of a removal row (the unique key needs a value). */
export const REMOVAL_CONCEPT = '00000000-0000-0000-0000-000000000000';

/**
 * The outbox upsert for the pairs in the jsonb parameter `pairs` (fields student_id, concept_id and the level in
 * `level`): one row per pair with a new version from the sequence; an older version never replaces a newer pending
 * one. `threshold` is the parameter holding the mastery threshold.
 */
function upsertMasteryRows(pairs: string, level: string, threshold: string): string {
  return `
INSERT INTO bkt_internal.graph_outbox AS o (kind, student_id, concept_id, level, mastered, version, updated_at)
SELECT 'mastery', x.student_id, x.concept_id, x.${level}, x.${level} >= ${threshold}::float8,
  nextval('bkt_internal.graph_version_seq'), now()
FROM jsonb_to_recordset(${pairs}::jsonb) AS x(student_id uuid, concept_id uuid, ${level} float8)
ORDER BY x.student_id, x.concept_id
ON CONFLICT (kind, student_id, concept_id) DO UPDATE
  SET level = excluded.level, mastered = excluded.mastered, version = excluded.version, updated_at = excluded.updated_at
  WHERE o.version < excluded.version`;
}

const UPSERT_MASTERY_ROWS = upsertMasteryRows('$1', 'level', '$2');

/**
 * One chunk of a backfill: the pairs after a cursor, read under FOR SHARE so that a pair being updated is read after
 * that update commits (and its version is taken after the update's); upserted with the same guard as an update.
 */
export const QUEUE_CHUNK = `
WITH src AS (
  SELECT sm.student_id, sm.concept_id, sm.p_known, sm.updated_at
  FROM public.student_mastery sm
  WHERE sm.n_responses > 0
    AND ($1::uuid IS NULL OR (sm.student_id, sm.concept_id) > ($1::uuid, $2::uuid))
  ORDER BY sm.student_id, sm.concept_id
  LIMIT $3
  FOR SHARE
), queued AS (
  INSERT INTO bkt_internal.graph_outbox AS o (kind, student_id, concept_id, level, mastered, version, updated_at)
  SELECT 'mastery', src.student_id, src.concept_id, src.p_known, src.p_known >= $4::float8,
    nextval('bkt_internal.graph_version_seq'), src.updated_at
  FROM src
  ORDER BY src.student_id, src.concept_id
  ON CONFLICT (kind, student_id, concept_id) DO UPDATE
    SET level = excluded.level, mastered = excluded.mastered, version = excluded.version, updated_at = excluded.updated_at
    WHERE o.version < excluded.version
  RETURNING 1
)
SELECT (SELECT count(*) FROM src)::int AS n,
  (SELECT count(*) FROM queued)::int AS queued,
  last.student_id::text AS last_student, last.concept_id::text AS last_concept
FROM (SELECT 1) one
LEFT JOIN LATERAL (SELECT student_id, concept_id FROM src ORDER BY student_id DESC, concept_id DESC LIMIT 1) last ON true`;

interface OutboxDbRow {
  kind: 'mastery' | 'removal';
  student_id: string;
  concept_id: string;
  level: number | null;
  mastered: boolean | null;
  version: string;
  updated_at: string | null;
  enqueued_at: Date | string;
}

interface StatsRow {
  pending: number;
  oldest: Date | string | null;
  age: number;
  last_error: string | null;
  last_error_at: Date | string | null;
}

export const toDate = (v: Date | string): Date => (v instanceof Date ? v : new Date(v));

/** The outbox as the relay needs it, over either driver. */
export class SqlOutbox implements OutboxPort {
  #flag: { value: boolean; readAt: number } | null = null;
  readonly #now: () => number;

  constructor(
    readonly db: SqlDatabase,
    now: () => number = () => performance.now(),
  ) {
    this.#now = now;
  }

  /**
   * The outbox part of the update transaction: while the projection is on, upserts one row per written pair with a
   * new version from the sequence; an older version never replaces a newer pending one. The service's updates run it
   * inline, with no round trip of its own (a single answer inside bkt_internal.write_response, a batch as part of the
   * statement that writes the state and history); imports and fit-job replays call the function.
   */
  pairsWrittenHook(threshold: number): PairsWrittenHook {
    const hook = async (tx: SqlExecutor, pairs: readonly PairWrite[]) => {
      if (pairs.length === 0 || !(await this.#enabled(tx))) return;
      await tx.query(UPSERT_MASTERY_ROWS, [
        JSON.stringify(pairs.map((p) => ({ student_id: p.studentId, concept_id: p.conceptId, level: p.state.known }))),
        threshold,
      ]);
    };
    return Object.assign(hook, {
      inline: {
        active: (tx: SqlExecutor) => this.#enabled(tx),
        sql: upsertMasteryRows('$1', 'p_known', '$3'),
        threshold,
      },
    });
  }

  /** The flag as last read, re-read in the caller's transaction once it is GRAPH_FLAG_TTL_MS old. */
  async #enabled(tx: SqlExecutor): Promise<boolean> {
    const now = this.#now();
    if (this.#flag !== null && now - this.#flag.readAt < GRAPH_FLAG_TTL_MS) return this.#flag.value;
    const rows = await tx.query<{ enabled: boolean }>('SELECT enabled FROM bkt_internal.graph_settings');
    this.#flag = { value: rows[0]?.enabled === true, readAt: now };
    return this.#flag.value;
  }

  async readPending(limit: number): Promise<OutboxRow[]> {
    const rows = await this.db.query<OutboxDbRow>('SELECT * FROM bkt_internal.graph_outbox_next($1::int)', [limit]);
    return rows.map((r): OutboxRow => {
      const version = Number(r.version);
      const enqueued_at = toDate(r.enqueued_at);
      if (r.kind === 'removal') return { kind: 'removal', student_id: r.student_id, version, enqueued_at };
      return {
        kind: 'mastery',
        student_id: r.student_id,
        concept_id: r.concept_id,
        level: r.level as number,
        mastered: r.mastered as boolean,
        version,
        updated_at: r.updated_at as string,
        enqueued_at,
      };
    });
  }

  async deleteIfUnchanged(sent: readonly OutboxSent[]): Promise<number> {
    if (sent.length === 0) return 0;
    const keys = sent.map((s) => ({
      kind: s.kind,
      student_id: s.student_id,
      concept_id: s.kind === 'mastery' ? s.concept_id : REMOVAL_CONCEPT,
      version: s.version,
    }));
    // Rows are locked in key order (the order updates lock them in), and a row updated meanwhile fails the version
    // check when re-read under the lock, so it stays pending (migration 20261127400000_graph_relay_functions.sql).
    const rows = await this.db.query<{ n: number }>('SELECT bkt_internal.graph_outbox_ack($1::jsonb) AS n', [JSON.stringify(keys)]);
    return rows[0]?.n ?? 0;
  }

  async acquireLease(holder: string, ttlMs: number): Promise<boolean> {
    const rows = await this.db.query(
      `INSERT INTO bkt_internal.graph_lease AS l (name, holder, expires_at)
       VALUES ('graph_relay', $1, now() + $2::int * interval '1 millisecond')
       ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE l.holder = excluded.holder OR l.expires_at < now()
       RETURNING holder`,
      [holder, Math.trunc(ttlMs)],
    );
    return rows.length === 1;
  }

  async renewLease(holder: string, ttlMs: number): Promise<boolean> {
    const rows = await this.db.query(
      `UPDATE bkt_internal.graph_lease SET expires_at = now() + $2::int * interval '1 millisecond'
       WHERE name = 'graph_relay' AND holder = $1 RETURNING holder`,
      [holder, Math.trunc(ttlMs)],
    );
    return rows.length === 1;
  }

  async releaseLease(holder: string): Promise<void> {
    await this.db.query(
      `UPDATE bkt_internal.graph_lease SET expires_at = now() - interval '1 millisecond' WHERE name = 'graph_relay' AND holder = $1`,
      [holder],
    );
  }

  async stats(): Promise<OutboxStats> {
    const rows = await this.db.query<StatsRow>(
      `SELECT count(*)::int AS pending, min(o.enqueued_at) AS oldest,
         COALESCE(GREATEST(0, extract(epoch FROM now() - min(o.enqueued_at))), 0)::float8 AS age,
         (SELECT last_error FROM bkt_internal.graph_settings) AS last_error,
         (SELECT last_error_at FROM bkt_internal.graph_settings) AS last_error_at
       FROM bkt_internal.graph_outbox o`,
    );
    const r = rows[0];
    return {
      pending: r.pending,
      oldestEnqueuedAt: r.oldest === null ? null : toDate(r.oldest),
      oldestAgeSeconds: r.pending === 0 ? 0 : r.age,
      lastError:
        r.last_error === null || r.last_error_at === null ? null : { message: r.last_error, at: toDate(r.last_error_at) },
    };
  }

  async recordError(message: string): Promise<void> {
    await this.db.query('UPDATE bkt_internal.graph_settings SET last_error = $1, last_error_at = now()', [message.slice(0, 1000)]);
  }
}
