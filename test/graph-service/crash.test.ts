/**
 * A crash on the PostgreSQL 15 server: the real built `bkt serve` (DATABASE_URL to a scratch database, NEO4J_URI at a
 * closed port, so its relay is failing and retrying) takes updates from concurrent clients and is SIGKILLed mid-load,
 * then started again. Proves: every acknowledged update (HTTP 200) is in mastery_history, and every answered pair of
 * student_mastery is pending in the outbox with its current level (nothing was projected, since Neo4j was never
 * reachable, and nothing was lost). Finally the dead instance's lease is expired by hand (it would expire by itself
 * after 30 s) and a relay in this process drains the outbox into the RecordingGraphWriter test double: the graph
 * equals student_mastery.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RecordingGraphWriter } from '../../src/graph/recording-writer.js';
import { OutboxRelay } from '../../src/graph/relay.js';
import { migrate } from '../../src/store/migrate.js';
import { SqlOutbox } from '../../src/store/outbox-relay-store.js';
import { setGraphEnabled } from '../../src/store/graph-admin.js';
import { openPostgres } from '../../src/store/postgres-driver.js';
import type { SqlDatabase } from '../../src/store/sql.js';
import { RecordingLogger } from '../graph/support/relay-harness.js';
import { BIN } from '../support/bin.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/pg.js';
import { newId } from '../support/service.js';
import { closedNeo4jEnv, closedPort, masteryLevels, outboxCount, waitFor } from './support.js';

let scratch: ScratchDatabase;
let db: SqlDatabase;
const children: ChildProcess[] = [];

beforeAll(async () => {
  scratch = await createScratchDatabase('crash');
  db = openPostgres({ connectionString: scratch.url, poolSize: 4, poolTimeoutMs: 2_000, statementTimeoutMs: 5_000, lockTimeoutMs: 2_000 });
  await migrate(db);
  await setGraphEnabled(db, true);
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await db?.close();
  await scratch?.drop();
});

async function serve(port: number, neo4jPort: number): Promise<ChildProcess> {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first (npm test does)`);
  const child = spawn(process.execPath, [BIN, 'serve'], {
    env: { ...process.env, DATABASE_URL: scratch.url, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...closedNeo4jEnv(neo4jPort) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += String(d)));
  const ready = await waitFor(
    () => fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.status, () => 0),
    (status) => status === 200 || child.exitCode !== null,
  );
  if (ready !== 200) throw new Error(`bkt serve did not become ready: ${stderr}`);
  return child;
}

describe('SIGKILL of bkt serve mid-load', () => {
  it('loses no acknowledged update, and every answered pair is pending in the outbox', async () => {
    const [port, neo4jPort] = [await closedPort(), await closedPort()];
    const students = Array.from({ length: 10 }, () => newId());
    const concepts = Array.from({ length: 5 }, () => newId());
    const acknowledged: string[] = [];
    let refused = 0;

    const first = await serve(port, neo4jPort);
    let stop = false;
    const clients = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const responseId = newId('r');
        const body = { student_id: students[(i + w * 3) % 10], concept_id: concepts[(i * 3 + w) % 5], correct: (i + w) % 4 !== 0, response_id: responseId };
        try {
          const r = await fetch(`http://127.0.0.1:${port}/api/bkt/update`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
          if (r.status === 200) acknowledged.push(responseId);
          else refused += 1;
        } catch {
          refused += 1; // the connection died with the process
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      }
    });
    await waitFor(() => acknowledged.length, (n) => n >= 300);
    first.kill('SIGKILL');
    await new Promise<void>((resolve) => first.once('exit', () => resolve()));
    await waitFor(() => refused, (n) => n > 0); // the clients met the dead process
    stop = true;
    await Promise.all(clients);
    expect(refused).toBeGreaterThan(0); // the kill did land mid-load

    // Restart: the service comes back on the same database with the same backlog.
    const second = await serve(port, neo4jPort);
    const recorded = await db.query<{ id: string }>(
      'SELECT response_id::text AS id FROM public.mastery_history WHERE response_id = ANY($1::uuid[])',
      [`{${acknowledged.join(',')}}`],
    );
    expect(recorded.length).toBe(acknowledged.length);

    const truth = await masteryLevels(db);
    const pending = await new SqlOutbox(db).readPending(1_000);
    expect(pending.length).toBe(truth.size);
    for (const row of pending) {
      expect(row.kind).toBe('mastery');
      if (row.kind === 'mastery') expect(row.level).toBe(truth.get(`${row.student_id}|${row.concept_id}`));
    }

    second.kill('SIGTERM');
    await new Promise<void>((resolve) => second.once('exit', () => resolve()));
    // The killed instance never released its lease; expire it as 30 s of waiting would.
    await db.query("UPDATE bkt_internal.graph_lease SET expires_at = now() - interval '1 second'");
    const graph = new RecordingGraphWriter();
    const relay = new OutboxRelay({ outbox: new SqlOutbox(db), writer: graph, logger: new RecordingLogger(), pollIntervalMs: 20, leaseTtlMs: 2_000, backoff: { initialMs: 10, maxMs: 100 } });
    relay.start();
    await waitFor(() => outboxCount(db), (n) => n === 0);
    await relay.stop();
    const projected = graph.snapshot();
    expect(projected.size).toBe(truth.size);
    for (const [key, level] of truth) expect(projected.get(key)?.level).toBe(level);
  });
});
