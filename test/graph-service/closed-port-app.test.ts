/**
 * The real app (createRuntime: store, outbox hook, relay, Fastify) with the real neo4j-driver pointed at a closed port,
 * on PGlite and on the PostgreSQL 15 server. Proves: every update succeeds while Neo4j is unreachable; the outbox holds
 * exactly one row per pair however many updates; /ready stays 200 and shows the lag; /metrics has bkt_graph_pending,
 * bkt_graph_oldest_pending_seconds and the failure counter; the log has one warning for the whole outage; the last
 * error is kept for `bkt graph status`. Then the RecordingGraphWriter takes over (as if Neo4j came back; it is a test
 * double, not Neo4j): the backlog drains, one recovery line is logged, and the graph's levels equal student_mastery.
 * Also: an instance without NEO4J_URI says once that it does not relay, still queues rows, and has the backlog in /metrics.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createNeo4jWriter } from '../../src/graph/neo4j-writer.js';
import { loadGraphConfig } from '../../src/config.js';
import { RecordingGraphWriter } from '../../src/graph/recording-writer.js';
import { setGraphEnabled } from '../../src/store/graph-admin.js';
import { GRAPH_FLAG_TTL_MS } from '../../src/store/outbox-hook.js';
import { DRIVERS, newId, startService, type TestService } from '../support/service.js';
import { WARN, ManualClock, SwitchableWriter, captureLogs, closedNeo4jEnv, closedPort, masteryLevels, outboxCount, waitFor } from './support.js';

const running: TestService[] = [];
afterAll(async () => {
  await Promise.all(running.map((s) => s.stop()));
});

describe.each(DRIVERS)('the app with Neo4j unreachable (%s)', (driver) => {
  it('accepts every update, queues one row per pair, reports the lag, warns once, then drains to equal student_mastery', async () => {
    const env = closedNeo4jEnv(await closedPort());
    const config = loadGraphConfig(env);
    if (!config.enabled) throw new Error('expected NEO4J settings to be valid');
    const writer = new SwitchableWriter(createNeo4jWriter({ ...config.neo4j, connectionTimeoutMs: 1_000 }));
    const logs = captureLogs();
    const svc = await startService(driver, {
      env: { LOG_LEVEL: 'info' },
      logStream: logs.stream,
      graph: {
        graphEnv: env,
        graphWriter: writer,
        relayTuning: { pollIntervalMs: 50, leaseTtlMs: 2_000, backoff: { initialMs: 50, maxMs: 400 } },
      },
    });
    running.push(svc);
    await setGraphEnabled(svc.db, true);

    const students = Array.from({ length: 5 }, () => newId());
    const concepts = Array.from({ length: 4 }, () => newId());
    const statuses: number[] = [];
    for (let round = 0; round < 10; round++) {
      const replies = await Promise.all(
        students.flatMap((s) =>
          concepts.map((c) =>
            svc.app.inject({ method: 'POST', url: '/api/bkt/update', payload: { student_id: s, concept_id: c, correct: (round + s.length) % 3 !== 0 } }),
          ),
        ),
      );
      statuses.push(...replies.map((r) => r.statusCode));
    }
    expect(statuses).toHaveLength(200);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(await outboxCount(svc.db)).toBe(20);

    const relay = svc.graph.relay!;
    await waitFor(() => relay.metrics(), (m) => m.failures >= 2 && m.pending === 20);
    const ready = await svc.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', graph: { pending: 20, failing: true, relaying: true } });
    expect(ready.json().graph.oldest_pending_seconds).toBeGreaterThan(0);
    const metrics = (await svc.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^bkt_graph_pending 20$/m);
    expect(Number(/^bkt_graph_oldest_pending_seconds (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(Number(/^bkt_graph_relay_failures_total (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
    expect((await svc.graph.outbox.stats()).lastError?.message).toMatch(/^ServiceUnavailable: /);

    const warnings = () => logs.lines().filter((l) => l.level >= WARN);
    expect(warnings()).toHaveLength(1);
    // The warning comes at the first failure, which may be before the last of the 20 rows was queued.
    expect(warnings()[0]).toMatchObject({ stage: 'graph', pending: expect.any(Number) });
    expect(warnings()[0].pending).toBeGreaterThan(0);
    expect(warnings()[0].pending).toBeLessThanOrEqual(20);
    expect(warnings()[0].msg).toMatch(/Neo4j is failing/);

    // Neo4j "comes back": the recording double takes over under the running relay.
    const graph = new RecordingGraphWriter();
    writer.current = graph;
    await waitFor(() => outboxCount(svc.db), (n) => n === 0);
    await waitFor(() => relay.metrics(), (m) => !m.failing && m.pending === 0);
    expect(warnings()).toHaveLength(1);
    expect(logs.lines().filter((l) => /recovered after \d+ failed attempts/.test(l.msg))).toHaveLength(1);
    expect((await svc.app.inject({ method: 'GET', url: '/ready' })).json().graph).toMatchObject({ pending: 0, failing: false });

    const truth = await masteryLevels(svc.db);
    const projected = graph.snapshot();
    expect(truth.size).toBe(20);
    expect(projected.size).toBe(truth.size);
    for (const [key, level] of truth) {
      expect(projected.get(key)?.level).toBe(level);
      expect(projected.get(key)?.mastered).toBe(level >= svc.config.masteryThreshold);
    }
  });
});

describe('an instance without NEO4J_URI', () => {
  it('says once at start-up that it does not relay, and still queues one row per pair while the projection is on', async () => {
    const logs = captureLogs();
    const clock = new ManualClock();
    const svc = await startService('pglite', { env: { LOG_LEVEL: 'info' }, logStream: logs.stream, graph: { graphFlagClock: clock.now } });
    running.push(svc);
    expect(svc.graph.relay).toBeUndefined();
    const said = logs.lines().filter((l) => /does not relay/.test(l.msg));
    expect(said).toHaveLength(1);
    expect(said[0].msg).toMatch(/NEO4J_URI is not set/);

    const [s, c] = [newId(), newId()];
    const update = () => svc.app.inject({ method: 'POST', url: '/api/bkt/update', payload: { student_id: s, concept_id: c, correct: true } });
    expect((await update()).statusCode).toBe(200);
    expect(await outboxCount(svc.db)).toBe(0); // the projection is off by default
    await setGraphEnabled(svc.db, true);
    // The flag is cached for GRAPH_FLAG_TTL_MS; past that every update queues.
    clock.advance(GRAPH_FLAG_TTL_MS);
    for (let i = 0; i < 3; i++) expect((await update()).statusCode).toBe(200);
    expect(await outboxCount(svc.db)).toBe(1);
    // Its /ready does not speak for Neo4j; /metrics has the backlog (read every 5 s by a watcher).
    const ready = await svc.app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
    expect((await svc.app.inject({ method: 'GET', url: '/metrics' })).body).toMatch(/^bkt_graph_pending \d+$/m);
    expect(logs.lines().filter((l) => /does not relay/.test(l.msg))).toHaveLength(1);
  });
});
