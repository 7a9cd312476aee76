/**
 * The operator's side of the graph projection, for `bkt graph`: turning it on and off, queueing every pair (backfill
 * and repair) and its status. The outbox itself: the relay's port in outbox-relay-store.ts, the in-transaction hook
 * in outbox-hook.ts.
 */
import type { OutboxStats } from '../service/graph-port.js';
import type { SqlDatabase, SqlExecutor } from './sql.js';
import { GRAPH_FLAG_TTL_MS } from './outbox-hook.js';
import { SqlOutbox, toDate } from './outbox-relay-store.js';

/**
 * One chunk of a backfill: the pairs after a cursor, read under FOR SHARE so that a pair being updated is read after
 * that update commits (and its version is taken after the update's); upserted with the same guard as an update.
 */
const QUEUE_CHUNK = `
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

/** A `bkt graph` operation that cannot be done as asked; the message says what to do. */
export class GraphAdminError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GraphAdminError';
  }
}

export interface GraphSettings {
  readonly enabled: boolean;
  readonly everEnabled: boolean;
  readonly changedAt: Date;
}

export interface GraphStatus extends OutboxStats {
  readonly settings: GraphSettings;
  readonly lease: { readonly holder: string; readonly expiresAt: Date; readonly live: boolean } | null;
}

export interface QueueAllOptions {
  /** P(L) at or above which a pair is mastered (the service's threshold). */
  readonly threshold: number;
  /** Pairs per transaction (each holds FOR SHARE locks on its pairs until it commits). */
  readonly chunk?: number;
  /** Longest wait for transactions that may have decided on the old flag. */
  readonly settleTimeoutMs?: number;
  readonly onChunk?: (queuedSoFar: number) => void;
  readonly sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Throws GraphAdminError when the graph migration is not applied. */
export async function assertGraphSchema(db: SqlExecutor): Promise<void> {
  if (!(await hasGraphSchema(db))) {
    throw new GraphAdminError('the graph outbox is not in this database (migration 20261127200000_graph_outbox); run bkt migrate first');
  }
}

export async function hasGraphSchema(db: SqlExecutor): Promise<boolean> {
  const rows = await db.query<{ ok: boolean }>("SELECT to_regclass('bkt_internal.graph_outbox') IS NOT NULL AS ok");
  return rows[0]?.ok === true;
}

export async function readGraphSettings(db: SqlExecutor): Promise<GraphSettings> {
  const rows = await db.query<{ enabled: boolean; ever_enabled: boolean; changed_at: Date | string }>(
    'SELECT enabled, ever_enabled, changed_at FROM bkt_internal.graph_settings',
  );
  const r = rows[0];
  return { enabled: r.enabled, everEnabled: r.ever_enabled, changedAt: toDate(r.changed_at) };
}

/** Turns the projection on or off for every instance; returns whether it was on before. */
export async function setGraphEnabled(db: SqlDatabase, enabled: boolean): Promise<{ wasEnabled: boolean }> {
  const rows = await db.transaction((tx) =>
    tx.query<{ was: boolean }>(
      `WITH old AS (SELECT enabled AS was FROM bkt_internal.graph_settings FOR UPDATE)
       UPDATE bkt_internal.graph_settings SET enabled = $1, ever_enabled = ever_enabled OR $1, changed_at = now()
       FROM old RETURNING old.was`,
      [enabled],
    ),
  );
  return { wasEnabled: rows[0].was };
}

/**
 * Waits until no update can still skip the outbox because it read the flag before it was turned on: first until every
 * instance's cached flag is newer than the change (GRAPH_FLAG_TTL_MS plus a margin, by the database clock), then
 * until every transaction in progress at that point has ended (an update that skipped had written its rows, so it has
 * a transaction id by then).
 */
async function settle(db: SqlDatabase, timeoutMs: number, sleep: (ms: number) => Promise<void>): Promise<void> {
  const wait = await db.query<{ ms: number }>(
    `SELECT GREATEST(0, extract(epoch FROM changed_at + $1::int * interval '1 millisecond' - now()) * 1000)::float8 AS ms
     FROM bkt_internal.graph_settings`,
    [GRAPH_FLAG_TTL_MS + 1_000],
  );
  if (wait[0].ms > 0) await sleep(Math.ceil(wait[0].ms));
  const open = await db.query<{ xid: string }>('SELECT x::text AS xid FROM pg_snapshot_xip(pg_current_snapshot()) AS x');
  let xids = open.map((r) => r.xid);
  const deadline = Date.now() + timeoutMs;
  while (xids.length > 0) {
    const still = await db.query<{ xid: string }>(
      `SELECT x::text AS xid FROM unnest($1::text[]) AS t(x) WHERE pg_xact_status(t.x::xid8) = 'in progress'`,
      [`{${xids.join(',')}}`],
    );
    xids = still.map((r) => r.xid);
    if (xids.length === 0) break;
    if (Date.now() > deadline) {
      throw new GraphAdminError(
        `transactions ${xids.join(', ')} have been open for over ${Math.round(timeoutMs / 1000)} s; an update among them may ` +
          'have skipped the outbox. Nothing was queued: run the command again once they end',
      );
    }
    await sleep(50);
  }
}

/**
 * Queues every pair that has been answered (backfill after enable, or repair), chunk by chunk, after `settle`.
 * Returns the number of pairs read. Refuses while the projection is off: nothing would keep the rows current.
 */
export async function queueAllPairs(db: SqlDatabase, options: QueueAllOptions): Promise<number> {
  const settings = await readGraphSettings(db);
  if (!settings.enabled) throw new GraphAdminError('the graph projection is disabled; run bkt graph enable (it queues every pair)');
  const sleep = options.sleep ?? realSleep;
  await settle(db, options.settleTimeoutMs ?? 60_000, sleep);
  const chunk = options.chunk ?? 5_000;
  let total = 0;
  let cursor: [string, string] | null = null;
  for (;;) {
    const after: [string, string] | null = cursor;
    type Chunk = { n: number; last_student: string | null; last_concept: string | null };
    const rows: Chunk[] = await db.transaction((tx) =>
      tx.query<Chunk>(QUEUE_CHUNK, [
        after?.[0] ?? null,
        after?.[1] ?? null,
        chunk,
        options.threshold,
      ]),
    );
    const r = rows[0];
    total += r.n;
    options.onChunk?.(total);
    if (r.n < chunk || r.last_student === null || r.last_concept === null) return total;
    cursor = [r.last_student, r.last_concept];
  }
}

/** Settings, pending rows and their age, the last relay error and the lease, for `bkt graph status`. */
export async function readGraphStatus(db: SqlDatabase): Promise<GraphStatus> {
  const stats = await new SqlOutbox(db).stats();
  const settings = await readGraphSettings(db);
  const lease = await db.query<{ holder: string; expires_at: Date | string; live: boolean }>(
    `SELECT holder, expires_at, expires_at > now() AS live FROM bkt_internal.graph_lease WHERE name = 'graph_relay'`,
  );
  const l = lease[0];
  return {
    ...stats,
    settings,
    lease: l === undefined ? null : { holder: l.holder, expiresAt: toDate(l.expires_at), live: l.live },
  };
}
