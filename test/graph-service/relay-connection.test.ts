/**
 * The relay's own connection on the PostgreSQL 15 server: `createRuntime` with DATABASE_URL opens the requests' pool
 * and, on an instance that relays, one more connection for the relay. Proves: with the requests' pool (size 1) held by
 * a long transaction, the relay still reads, sends and deletes pending rows, so it never waits for (or takes) a slot
 * that requests need; the wiring closes that connection on shutdown. The writer is the RecordingGraphWriter test double.
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { RecordingGraphWriter } from '../../src/graph/recording-writer.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { setGraphEnabled } from '../../src/store/graph-admin.js';
import { newId } from '../support/service.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/pg.js';
import { closedNeo4jEnv, closedPort, outboxCount, waitFor } from './support.js';

let scratch: ScratchDatabase | undefined;
let runtime: Runtime | undefined;

afterEach(async () => {
  await runtime?.close();
  await scratch?.drop();
  runtime = undefined;
  scratch = undefined;
});

/** Backends connected to the scratch database, as the server counts them. */
async function backends(rt: Runtime, database: string): Promise<number> {
  const rows = await rt.db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [database]);
  return rows[0].n;
}

describe('the relay on the server', () => {
  it('proves it drains through a connection of its own while the requests’ pool is held, and closes it on shutdown', async () => {
    scratch = await createScratchDatabase('relayconn');
    const writer = new RecordingGraphWriter();
    const config = loadConfig({ DATABASE_URL: scratch.url, BKT_POOL_SIZE: '1', LOG_LEVEL: 'silent', BKT_PARAMS_REFRESH_MS: '50' });
    runtime = await createRuntime(config, {
      graphEnv: closedNeo4jEnv(await closedPort()), // NEO4J_URI set: this instance relays (to the writer below)
      graphWriter: writer,
      relayTuning: { pollIntervalMs: 50, leaseTtlMs: 2_000, backoff: { initialMs: 50, maxMs: 400 } },
    });
    const rt = runtime;
    await setGraphEnabled(rt.db, true);
    const concept = newId();
    const students = [newId(), newId(), newId()];
    for (const s of students) await rt.service.recordResponse({ studentId: s, conceptId: concept, correct: true });
    await waitFor(() => outboxCount(rt.db), (n) => n === 0);
    expect(students.every((s) => writer.get(s, concept) !== undefined)).toBe(true);

    // Hold the requests' only connection; queue rows through a connection outside the pool meanwhile.
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const holding = rt.db.transaction(async () => held);
    const late = [newId(), newId()];
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    try {
      await client.query(
        `INSERT INTO bkt_internal.graph_outbox (kind, student_id, concept_id, level, mastered, version, updated_at)
         SELECT 'mastery', s::uuid, $2::uuid, 0.5, false, nextval('bkt_internal.graph_version_seq'), now() FROM unnest($1::text[]) s`,
        [late, concept],
      );
      // The relay finds them by its poll and drains them while the pool is still held.
      await waitFor(
        () => late.every((s) => writer.get(s, concept) !== undefined),
        (ok) => ok,
      );
      expect(late.every((s) => writer.get(s, concept)?.level === 0.5)).toBe(true);
      // ... and deletes them (right after the write, still through its own connection).
      const left = await waitFor(
        async () => (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM bkt_internal.graph_outbox')).rows[0].n,
        (n) => n === 0,
      );
      expect(left).toBe(0);
    } finally {
      release();
      await holding;
      await client.end();
    }
    // The pool's connection and the relay's own, once the server has ended the test client's backend (it does so
    // shortly after the client disconnects, not at once).
    const name = scratch.name;
    expect(await waitFor(() => backends(rt, name), (n) => n === 2)).toBe(2);
    await rt.graph.close(); // runtime.close() calls it again: a no-op
    expect(await waitFor(() => backends(rt, name), (n) => n === 1)).toBe(1);
  });
});
