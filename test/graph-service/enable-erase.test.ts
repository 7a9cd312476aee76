/**
 * On the PostgreSQL 15 server, with the real service and the SQL outbox; the graph is the RecordingGraphWriter test
 * double driven by a real OutboxRelay. Proves:
 *   - enabling under load loses nothing: updates run on many pairs while the projection is turned on and every pair
 *     queued (the code behind `bkt graph enable`); once drained, the graph equals student_mastery. This covers the
 *     updates that read the old (off) flag from their instance's cache: enable waits them out before the backfill.
 *   - erasure queues the removal of the student's relationships (also after the projection was turned off, since the
 *     graph may still hold them), through the HTTP route and through Supabase's auth.users delete trigger; once drained,
 *     the student is gone from the graph and a later update of the same student is kept.
 *   - a database where the projection was never enabled queues nothing on erasure.
 */
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordingGraphWriter } from '../../src/graph/recording-writer.js';
import { OutboxRelay } from '../../src/graph/relay.js';
import { queueAllPairs, setGraphEnabled } from '../../src/store/graph-admin.js';
import { GRAPH_FLAG_TTL_MS } from '../../src/store/outbox-hook.js';
import { RecordingLogger } from '../graph/support/relay-harness.js';
import { newId, startService, type StartOptions, type TestService } from '../support/service.js';
import { ManualClock, masteryLevels, outboxCount, waitFor } from './support.js';

const running: TestService[] = [];
afterAll(async () => {
  await Promise.all(running.map((s) => s.stop()));
});

async function start(options: StartOptions = {}): Promise<TestService> {
  const svc = await startService('postgres', options);
  running.push(svc);
  return svc;
}

/** Drains the service's outbox into `graph` with a real relay (the service itself has no NEO4J_URI). */
async function drain(svc: TestService, graph: RecordingGraphWriter): Promise<void> {
  const relay = new OutboxRelay({ outbox: svc.graph.outbox, writer: graph, logger: new RecordingLogger(), pollIntervalMs: 20, leaseTtlMs: 2_000, backoff: { initialMs: 10, maxMs: 100 } });
  relay.start();
  try {
    const left = await waitFor(() => outboxCount(svc.db), (n) => n === 0);
    expect(left).toBe(0);
  } finally {
    await relay.stop();
  }
}

function expectGraphEqualsMastery(graph: RecordingGraphWriter, truth: Map<string, number>): void {
  const projected = graph.snapshot();
  const missing = [...truth].filter(([key, level]) => projected.get(key)?.level !== level);
  expect(missing).toEqual([]);
  expect(projected.size).toBe(truth.size);
}

describe('enabling the projection under load', () => {
  it('loses no update: the graph ends equal to student_mastery', async () => {
    const svc = await start();
    const students = Array.from({ length: 40 }, () => newId());
    const concepts = Array.from({ length: 5 }, () => newId());
    // Every pair answered once before, so the backfill has work and the cache holds "off".
    for (const s of students) {
      await svc.service.recordBatch(concepts.map((c) => ({ studentId: s, conceptId: c, correct: false })));
    }
    let stop = false;
    let applied = 0;
    const workers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const s = students[(i * 7 + w * 13) % students.length];
        const c = concepts[(i + w) % concepts.length];
        await svc.service.recordResponse({ studentId: s, conceptId: c, correct: (i + w) % 3 !== 0 });
        applied += 1;
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await setGraphEnabled(svc.db, true);
    const queued = await queueAllPairs(svc.db, { threshold: svc.config.masteryThreshold, chunk: 37 });
    stop = true; // the load ends as soon as the backfill is done: a missed update would not be repaired by a later one
    await Promise.all(workers);
    expect(queued).toBe(200);
    expect(applied).toBeGreaterThan(0);
    const graph = new RecordingGraphWriter();
    await drain(svc, graph);
    expectGraphEqualsMastery(graph, await masteryLevels(svc.db));
  });
});

describe('erasure', () => {
  it('queues the removal of the student; once drained the student is gone and a later update is kept', async () => {
    const clock = new ManualClock();
    const svc = await start({ graph: { graphFlagClock: clock.now } });
    await setGraphEnabled(svc.db, true);
    const [gone, kept] = [newId(), newId()];
    const concepts = [newId(), newId(), newId()];
    for (const s of [gone, kept]) for (const c of concepts) {
      const r = await svc.app.inject({ method: 'POST', url: '/api/bkt/update', payload: { student_id: s, concept_id: c, correct: true } });
      expect(r.statusCode).toBe(200);
    }
    const graph = new RecordingGraphWriter();
    await drain(svc, graph);
    expect(graph.hasStudent(gone)).toBe(true);

    // Turned off: updates stop queueing, but erasures still must reach the graph.
    await setGraphEnabled(svc.db, false);
    const erased = await svc.app.inject({ method: 'DELETE', url: `/api/bkt/students/${gone}` });
    expect(erased.statusCode).toBe(200);
    const rows = await svc.graph.outbox.readPending(10);
    expect(rows).toEqual([expect.objectContaining({ kind: 'removal', student_id: gone })]);
    await drain(svc, graph);
    expect(graph.hasStudent(gone)).toBe(false);
    expect(graph.hasStudent(kept)).toBe(true);

    // Back on: the same student answers again after the erasure; the new relationship is not taken by the removal.
    await setGraphEnabled(svc.db, true);
    await svc.service.eraseStudent(gone); // a second removal, newer still
    clock.advance(GRAPH_FLAG_TTL_MS); // any flag the instance cached has expired: the next update reads "on"
    await svc.service.recordResponse({ studentId: gone, conceptId: concepts[0], correct: true });
    await drain(svc, graph);
    expect(graph.get(gone, concepts[0])).toBeDefined();
    expectGraphEqualsMastery(graph, await masteryLevels(svc.db));
  });

  it("through Supabase's auth.users delete trigger", async () => {
    const svc = await start({ prepare: async (url) => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query('CREATE SCHEMA auth; CREATE TABLE auth.users (id uuid PRIMARY KEY)');
      } finally {
        await c.end();
      }
    } });
    await setGraphEnabled(svc.db, true);
    const [user, concept] = [newId(), newId()];
    await svc.db.query('INSERT INTO auth.users (id) VALUES ($1)', [user]);
    await svc.service.recordResponse({ studentId: user, conceptId: concept, correct: true });
    expect(await outboxCount(svc.db, 'mastery')).toBe(1);
    await svc.db.query('DELETE FROM auth.users WHERE id = $1', [user]);
    expect(await outboxCount(svc.db, 'mastery')).toBe(0);
    expect(await svc.graph.outbox.readPending(10)).toEqual([expect.objectContaining({ kind: 'removal', student_id: user })]);
  });

  it('queues nothing where the projection was never enabled', async () => {
    const svc = await start();
    const s = newId();
    await svc.service.recordResponse({ studentId: s, conceptId: newId(), correct: true });
    await svc.service.eraseStudent(s);
    expect(await outboxCount(svc.db)).toBe(0);
  });
});
