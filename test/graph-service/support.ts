/** Helpers for the graph projection's service tests: a closed port, a writer that can be swapped, captured logs. */
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import type { GraphBatch, GraphWriter } from '../../src/service/graph-port.js';
import type { SqlExecutor } from '../../src/store/sql.js';

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

/** NEO4J_* settings pointing at a closed port. */
export function closedNeo4jEnv(port: number): Record<string, string> {
  return { NEO4J_URI: `bolt://127.0.0.1:${port}`, NEO4J_USER: 'neo4j', NEO4J_PASSWORD: 'not-a-real-password' };
}

/** Forwards to whichever writer is current: lets a test "bring Neo4j back" under a running relay. */
export class SwitchableWriter implements GraphWriter {
  constructor(public current: GraphWriter) {}
  ensureConstraints(): Promise<void> {
    return this.current.ensureConstraints();
  }
  write(batch: GraphBatch): Promise<void> {
    return this.current.write(batch);
  }
  close(): Promise<void> {
    return this.current.close();
  }
}

/** A log stream for the app that keeps each JSON line. */
export function captureLogs(): { stream: Writable; lines: () => { level: number; msg: string; [k: string]: unknown }[] } {
  const raw: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      raw.push(...String(chunk).split('\n').filter((l) => l.trim() !== ''));
      done();
    },
  });
  return { stream, lines: () => raw.map((l) => JSON.parse(l) as { level: number; msg: string }) };
}

export const WARN = 40;

/**
 * A clock that moves only when told: given to the runtime as graphFlagClock, it lets a test expire the update
 * transactions' cached graph flag (advance by GRAPH_FLAG_TTL_MS) instead of sleeping the TTL out.
 */
export class ManualClock {
  #t = 0;
  readonly now = (): number => this.#t;
  advance(ms: number): void {
    this.#t += ms;
  }
}

/**
 * Polls `read` every 20 ms until `ok` holds, then returns its last value; gives up (returning it anyway, for the
 * caller's assertion to fail on) after `deadlineMs`, a failure bound long enough for a loaded machine.
 */
export async function waitFor<T>(read: () => Promise<T> | T, ok: (value: T) => boolean, deadlineMs = 120_000): Promise<T> {
  const deadline = performance.now() + deadlineMs;
  let value = await read();
  while (!ok(value) && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await read();
  }
  return value;
}

/** student_mastery as `student|concept -> level` (pairs that have answered). */
export async function masteryLevels(db: SqlExecutor): Promise<Map<string, number>> {
  const rows = await db.query<{ s: string; c: string; level: number }>(
    'SELECT student_id::text AS s, concept_id::text AS c, p_known AS level FROM public.student_mastery WHERE n_responses > 0',
  );
  return new Map(rows.map((r) => [`${r.s}|${r.c}`, r.level]));
}

export async function outboxCount(db: SqlExecutor, kind?: 'mastery' | 'removal'): Promise<number> {
  const rows = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM bkt_internal.graph_outbox WHERE $1::text IS NULL OR kind = $1::text',
    [kind ?? null],
  );
  return rows[0].n;
}
