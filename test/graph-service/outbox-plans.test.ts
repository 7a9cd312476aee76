/**
 * The SQL outbox's relay statements on the PostgreSQL 15 server, where plans and row locks are real (PGlite has one
 * connection and no concurrency). Proves:
 *   - the relay's read and delete find rows by index whatever the planner's statistics say: with a backlog of 20,000
 *     rows and again once it has drained (the table and its indexes large and nearly empty, where a sequential scan
 *     looks cheap), neither scans the table, so a batch costs the same whatever the backlog;
 *   - delete-if-unchanged under a real lock wait: while an update holds a sent row, the delete waits for it, then
 *     re-reads the row, sees its new version and leaves it pending (and still deletes the other sent rows).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqlOutbox } from '../../src/store/outbox-relay-store.js';
import { setGraphEnabled } from '../../src/store/graph-admin.js';
import type { SqlDatabase, SqlExecutor } from '../../src/store/sql.js';
import { newId, startService, type TestService } from '../support/service.js';
import { waitFor } from './support.js';

let svc: TestService;

beforeAll(async () => {
  svc = await startService('postgres');
  await setGraphEnabled(svc.db, true);
}, 60_000);

afterAll(async () => {
  await svc?.stop();
});

/** Queues `n` mastery rows directly (one statement), each with a fresh version, as a long outage leaves them. */
async function queueRows(n: number): Promise<void> {
  await svc.db.query(
    `INSERT INTO bkt_internal.graph_outbox (kind, student_id, concept_id, level, mastered, version, updated_at)
     SELECT 'mastery', gen_random_uuid(), gen_random_uuid(), 0.5, false, nextval('bkt_internal.graph_version_seq'), now()
     FROM generate_series(1, $1::int)`,
    [n],
  );
}

/**
 * Runs one relay cycle's read and delete (the product's own statements, through SqlOutbox) inside one transaction and
 * returns how the table was scanned, from the backend's own counters (pg_stat_xact_user_tables).
 */
async function scansOfOneCycle(batch: number): Promise<{ read: number; deleted: number; seqScans: number; indexScans: number }> {
  return svc.db.transaction(async (tx: SqlExecutor) => {
    // The backend's counters not yet flushed to the shared statistics (they may include earlier transactions of this
    // connection, but nothing flushes them in the middle of a transaction): read before and after.
    const counters = async () =>
      (
        await tx.query<{ seq: number; idx: number }>(
          `SELECT seq_scan::int AS seq, COALESCE(idx_scan, 0)::int AS idx FROM pg_stat_xact_user_tables
           WHERE schemaname = 'bkt_internal' AND relname = 'graph_outbox'`,
        )
      )[0];
    const before = await counters();
    // SqlOutbox only calls query(); here every call runs in this transaction.
    const outbox = new SqlOutbox(tx as unknown as SqlDatabase);
    const rows = await outbox.readPending(batch);
    const deleted = await outbox.deleteIfUnchanged(rows);
    const after = await counters();
    return { read: rows.length, deleted, seqScans: after.seq - before.seq, indexScans: after.idx - before.idx };
  });
}

describe('the relay statements on PostgreSQL 15', () => {
  it('proves a batch is read and deleted by index with a large backlog and after it drained', async () => {
    await queueRows(20_000);
    await svc.db.exec('ANALYZE bkt_internal.graph_outbox');
    const big = await scansOfOneCycle(500);
    expect(big).toMatchObject({ read: 500, deleted: 500, seqScans: 0 });
    expect(big.indexScans).toBeGreaterThan(0);

    // Drain all but a few rows, and let the statistics see a nearly empty table that still spans many pages.
    await svc.db.exec(
      'DELETE FROM bkt_internal.graph_outbox WHERE seq NOT IN (SELECT seq FROM bkt_internal.graph_outbox ORDER BY seq DESC LIMIT 5)',
    );
    await svc.db.exec('VACUUM ANALYZE bkt_internal.graph_outbox');
    const [{ pages }] = await svc.db.query<{ pages: number }>(
      "SELECT relpages AS pages FROM pg_class WHERE oid = 'bkt_internal.graph_outbox'::regclass",
    );
    expect(pages).toBeGreaterThan(50); // the case where a plan made from statistics picks a sequential scan
    const drained = await scansOfOneCycle(500);
    expect(drained).toMatchObject({ read: 5, deleted: 5, seqScans: 0 });
  }, 60_000);

  it('proves delete-if-unchanged waits for an update holding a sent row, then keeps that row at its new version', async () => {
    await svc.db.exec('DELETE FROM bkt_internal.graph_outbox');
    const [s1, s2, c] = [newId(), newId(), newId()];
    await svc.service.recordResponse({ studentId: s1, conceptId: c, correct: true });
    await svc.service.recordResponse({ studentId: s2, conceptId: c, correct: true });
    const outbox = svc.graph.outbox;
    const sent = (await outbox.readPending(10_000)).filter((r) => r.kind === 'mastery' && r.concept_id === c);
    expect(sent).toHaveLength(2);

    // An update of s1 in flight: its transaction holds the pair's outbox row, with a newer version, uncommitted.
    const holder = new pg.Client({ connectionString: svc.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query(
        `UPDATE bkt_internal.graph_outbox SET version = nextval('bkt_internal.graph_version_seq'), level = 0.9
         WHERE kind = 'mastery' AND student_id = $1 AND concept_id = $2`,
        [s1, c],
      );
      let settled = false;
      const deleting = outbox.deleteIfUnchanged(sent).finally(() => {
        settled = true;
      });
      // The delete's session is seen waiting on the holder's row lock: it waits for it rather than skipping the row.
      const waiting = await waitFor(
        async () => (await svc.db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"))[0].n,
        (n) => n > 0 || settled,
      );
      expect(waiting).toBeGreaterThan(0);
      expect(settled).toBe(false);
      await holder.query('COMMIT');
      expect(await deleting).toBe(1); // s2's row; s1's changed while the batch was in flight
    } finally {
      await holder.end();
    }
    const left = (await outbox.readPending(10_000)).filter((r) => r.kind === 'mastery' && r.concept_id === c);
    expect(left.map((r) => r.student_id)).toEqual([s1]);
    expect(left[0].version).toBeGreaterThan(sent.find((r) => r.student_id === s1)!.version);
    expect(left[0].kind === 'mastery' && left[0].level).toBe(0.9);
  }, 30_000);
});
