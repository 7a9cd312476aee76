/**
 * `bkt graph enable|disable|sync|status` through the built bin, against a scratch database on the PostgreSQL 15 server
 * that the service (in this process) writes to. Proves: status reports the switch, the backlog and the last error (text
 * and --json); enable turns the projection on and queues every answered pair with its current level (backfill);
 * sync queues every pair again after the relay took them; disable stops updates from queueing; sync refuses while
 * off; and a database without the graph migration is a one-line error naming `bkt migrate`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN } from '../support/bin.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/pg.js';
import { newId, startService, type TestService } from '../support/service.js';
import { GRAPH_FLAG_TTL_MS } from '../../src/store/outbox-hook.js';
import { ManualClock, masteryLevels, outboxCount } from './support.js';

function graph(url: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`);
  const r = spawnSync(process.execPath, [BIN, 'graph', ...args], {
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'silent' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function graphJson<T = Record<string, unknown>>(url: string, args: string[]): T {
  const r = graph(url, [...args, '--json']);
  if (r.status !== 0) throw new Error(`bkt graph ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

describe('bkt graph', () => {
  let svc: TestService;
  let url: string;
  // The service's cached graph flag expires when the test advances this clock (by GRAPH_FLAG_TTL_MS).
  const clock = new ManualClock();
  const students = [newId(), newId(), newId()];
  const concepts = [newId(), newId(), newId(), newId()];
  const update = (s: string, c: string, correct = true) =>
    svc.app.inject({ method: 'POST', url: '/api/bkt/update', payload: { student_id: s, concept_id: c, correct } });

  beforeAll(async () => {
    svc = await startService('postgres', { graph: { graphFlagClock: clock.now } });
    url = svc.url!;
    for (const s of students) for (const c of concepts) expect((await update(s, c, s < c)).statusCode).toBe(200);
  });
  afterAll(async () => {
    await svc?.stop();
  });

  /** What the relay does once Neo4j took the rows. */
  async function relayTookEverything(): Promise<void> {
    const rows = await svc.graph.outbox.readPending(1000);
    await svc.graph.outbox.deleteIfUnchanged(rows);
  }

  it('status: off, nothing pending, no error, no relay', () => {
    expect(graphJson(url, ['status'])).toMatchObject({ enabled: false, pending: 0, oldest_enqueued_at: null, last_error: null, relay: null });
    const text = graph(url, ['status']);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/^projection: disabled/m);
    expect(text.stdout).toMatch(/^pending: +0 row\(s\)$/m);
  });

  it('enable turns it on and queues every answered pair with its current level', async () => {
    expect(await outboxCount(svc.db)).toBe(0);
    expect(graphJson(url, ['enable'])).toEqual({ enabled: true, was_enabled: false, queued: 12 });
    clock.advance(GRAPH_FLAG_TTL_MS); // the service's cached "off" expires (enable waited that long before queueing)
    const rows = await svc.graph.outbox.readPending(100);
    const truth = await masteryLevels(svc.db);
    expect(rows).toHaveLength(12);
    for (const r of rows) if (r.kind === 'mastery') expect(r.level).toBe(truth.get(`${r.student_id}|${r.concept_id}`));
    const status = graphJson<{ enabled: boolean; pending: number; oldest_pending_seconds: number }>(url, ['status']);
    expect(status).toMatchObject({ enabled: true, pending: 12 });
    expect(status.oldest_pending_seconds).toBeGreaterThanOrEqual(0);
    // Enabling again is harmless and reports it.
    expect(graph(url, ['enable']).stdout).toMatch(/was already enabled; queued 12 pair/);
  });

  it('sync queues every pair again after the relay sent them; updates queue while on', async () => {
    await relayTookEverything();
    expect((await update(students[0], concepts[0])).statusCode).toBe(200);
    expect(await outboxCount(svc.db)).toBe(1);
    expect(graphJson(url, ['sync'])).toEqual({ queued: 12 });
    expect(await outboxCount(svc.db)).toBe(12);
  });

  it('status shows the last relay error', async () => {
    await svc.graph.outbox.recordError('ServiceUnavailable: Could not perform discovery');
    const json = graphJson<{ last_error: { message: string; at: string } }>(url, ['status']);
    expect(json.last_error.message).toBe('ServiceUnavailable: Could not perform discovery');
    expect(graph(url, ['status']).stdout).toMatch(/^last error: ServiceUnavailable: Could not perform discovery \(at /m);
  });

  it('disable stops updates from queueing, and sync refuses while off', async () => {
    await relayTookEverything();
    expect(graphJson(url, ['disable'])).toEqual({ enabled: false, was_enabled: true });
    // Instances re-read the flag once their cached one is GRAPH_FLAG_TTL_MS old.
    clock.advance(GRAPH_FLAG_TTL_MS);
    expect((await update(students[1], concepts[1])).statusCode).toBe(200);
    expect(await outboxCount(svc.db)).toBe(0);
    const refused = graph(url, ['sync']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toBe('bkt graph sync: the graph projection is disabled; run bkt graph enable (it queues every pair)\n');
  });

  it('a database without the graph migration is a one-line error naming bkt migrate', async () => {
    const bare: ScratchDatabase = await createScratchDatabase('graphcli');
    try {
      const r = graph(bare.url, ['status']);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^bkt graph status: the graph outbox is not in this database .*run bkt migrate first\n$/);
    } finally {
      await bare.drop();
    }
  });
});
