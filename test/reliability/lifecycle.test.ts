/**
 * The real `bkt serve` process through its life: started while its database does not exist yet it stays up (/health
 * 200, /ready 503, one line per attempt and no stack) and serves once the database is created, with no restart;
 * SIGTERM under 20 keep-alive clients answers every request it read, resets none, logs "closed" and exits 0; and
 * `npm start` (the README's command) passes SIGTERM on to the server instead of orphaning it.
 * Every wait is on an event or a condition, bounded by a generous deadline that only marks failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Agent, request } from 'undici';
import { afterAll, expect, it } from 'vitest';
import { BIN } from '../support/bin.js';
import { SERVER_URL } from '../support/pg.js';
import { newId } from '../support/service.js';
import { freePort } from './support/pg-instance.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DEADLINE_MS = 120_000;

interface Child {
  readonly child: ChildProcess;
  readonly url: string;
  output(): string;
  readonly exited: Promise<number | null>;
  /** Resolves once stdout and stderr have ended too (after the exit, their last data may still be on the way). */
  readonly closed: Promise<void>;
}

function launch(command: string, args: string[], env: Record<string, string>): Promise<Child> {
  return freePort().then((port) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: string[] = [];
    child.stdout!.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const closed = new Promise<void>((r) => child.once('close', () => r()));
    return { child, url: `http://127.0.0.1:${port}`, output: () => chunks.join(''), exited, closed };
  });
}

/** Polls `probe` until it is true; the deadline only marks failure. */
async function until(what: string, probe: () => Promise<boolean>, child: Child): Promise<void> {
  const deadline = performance.now() + DEADLINE_MS;
  while (performance.now() < deadline) {
    if (child.child.exitCode !== null) throw new Error(`exited while waiting for ${what}: ${child.output()}`);
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${what} within ${DEADLINE_MS} ms: ${child.output()}`);
}

const status = async (url: string) => (await fetch(url)).status;

const children: Child[] = [];
const databases: string[] = [];
afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL');
  const admin = new pg.Client({ connectionString: SERVER_URL });
  await admin.connect();
  for (const name of databases) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
});

async function createDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: SERVER_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
}

function databaseUrl(name: string): string {
  const u = new URL(SERVER_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

it('starts while its database does not exist, answers /ready 503, then serves without a restart', async () => {
  const name = `bkt_late_${randomBytes(5).toString('hex')}`;
  databases.push(name);
  const svc = await launch(process.execPath, [BIN, 'serve'], { DATABASE_URL: databaseUrl(name), BKT_DB_RETRY_MAX_MS: '500', BKT_POOLSIZE: '4' });
  children.push(svc);
  await until('/health 200', async () => (await status(`${svc.url}/health`)) === 200, svc);
  const ready = await fetch(`${svc.url}/ready`);
  expect(ready.status).toBe(503);
  expect(((await ready.json()) as { error: { code: string } }).error.code).toBe('unavailable');
  expect((await fetch(`${svc.url}/api/bkt/mastery/${newId()}`)).status).toBe(503);
  await until('a log line of a failed attempt', async () => svc.output().includes('database not reachable'), svc);

  await createDatabase(name);
  await until('/ready 200', async () => (await status(`${svc.url}/ready`)) === 200, svc);
  const r = await fetch(`${svc.url}/api/bkt/update`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ student_id: newId(), concept_id: newId(), correct: true }),
  });
  expect(r.status).toBe(200);
  // Log lines reach stdout within a second (BKT_LOG_BUFFER_BYTES holds them until then).
  await until('the unknown setting warning', async () => svc.output().includes('BKT_POOLSIZE is not a setting of bkt serve (did you mean BKT_POOL_SIZE?)'), svc);
  expect(svc.output()).not.toMatch(/\n\s+at /); // no stack trace
  expect(await (await fetch(`${svc.url}/metrics`)).text()).toMatch(/^bkt_log_lines_dropped_total 0$/m);
  svc.child.kill('SIGTERM');
  expect(await svc.exited).toBe(0);
});

it('SIGTERM under 20 keep-alive clients answers every request read, resets none, logs "closed"', async () => {
  // A server database: embedded PGlite takes far longer to start on a loaded machine, and is not what is tested here.
  const name = `bkt_term_${randomBytes(5).toString('hex')}`;
  databases.push(name);
  await createDatabase(name);
  const svc = await launch(process.execPath, [BIN, 'serve'], { DATABASE_URL: databaseUrl(name) });
  children.push(svc);
  await until('/ready 200', async () => (await status(`${svc.url}/ready`)) === 200, svc);
  const agent = new Agent({ connections: 20, keepAliveTimeout: 60_000 });
  const errors: string[] = [];
  let answered = 0;
  let signalled = false;
  let reached!: () => void;
  const enough = new Promise<void>((r) => (reached = r));
  const client = async () => {
    const student = newId();
    for (;;) {
      try {
        const r = await request(`${svc.url}/api/bkt/update`, {
          method: 'POST',
          dispatcher: agent,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ student_id: student, concept_id: newId(), correct: true }),
        });
        await r.body.text();
        if (r.statusCode !== 200) errors.push(`status ${r.statusCode}`);
        if (++answered === 100) reached();
      } catch (e) {
        const code = (e as { code?: string }).code ?? String(e);
        // After the listener closes, a new connection is refused: that request was never sent.
        if (!(signalled && code === 'ECONNREFUSED')) errors.push(code);
        return;
      }
    }
  };
  const clients = Array.from({ length: 20 }, client);
  await enough;
  signalled = true;
  svc.child.kill('SIGTERM');
  const code = await svc.exited;
  await Promise.all(clients);
  await agent.close();
  expect(errors).toEqual([]);
  expect(code).toBe(0);
  await svc.closed;
  expect(svc.output()).toMatch(/"msg":"closed"/);
  // Log lines are buffered (BKT_LOG_BUFFER_BYTES): those still held at the signal are written at exit, none lost.
  const logged = svc.output().split('\n').filter((l) => l.includes('"msg":"request"') && l.includes('"status":200'));
  expect(logged.length).toBeGreaterThanOrEqual(answered);
});

it('npm start passes SIGTERM on to the server', async () => {
  const name = `bkt_npm_${randomBytes(5).toString('hex')}`;
  databases.push(name);
  await createDatabase(name);
  const svc = await launch('npm', ['start', '--silent'], { DATABASE_URL: databaseUrl(name) });
  children.push(svc);
  await until('/ready 200', async () => (await status(`${svc.url}/ready`)) === 200, svc);
  svc.child.kill('SIGTERM');
  await svc.exited;
  // The server itself, not only npm, has stopped: it logged "closed" and its port refuses connections.
  expect(svc.output()).toMatch(/"msg":"closed"/);
  await expect(fetch(`${svc.url}/health`)).rejects.toThrow();
});
