/**
 * The graph outbox as the relay reads and marks it (tables in migration 20261127200000_graph_outbox.sql; design in
 * docs/graph.md): `SqlOutbox`, the OutboxPort, one statement per call. The relay's read and delete call functions
 * whose plans the connection keeps (migration 20261127400000_graph_relay_functions.sql); the lease runs by the
 * database clock. What update transactions write is in outbox-hook.ts; the operator's side in graph-admin.ts.
 */
import type { OutboxPort, OutboxRow, OutboxSent, OutboxStats } from '../service/graph-port.js';
import type { SqlDatabase } from './sql.js';

/** concept_id of a removal row (the unique key needs a value). */
export const REMOVAL_CONCEPT = '00000000-0000-0000-0000-000000000000';

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
  constructor(readonly db: SqlDatabase) {}

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
