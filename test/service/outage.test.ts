/**
 * On the PostgreSQL server: a database that is unreachable, a row lock held too long and an exhausted pool are each
 * a 503 with Retry-After within the configured timeouts (never a hang or a 500), and the service recovers by itself.
 */
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openPostgres } from '../../src/store/postgres-driver.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { newId, startService, type TestService } from '../support/service.js';

const running: TestService[] = [];
afterAll(async () => {
  await Promise.all(running.map((s) => s.stop()));
});

async function start(env: Record<string, string>, proxy?: TcpProxy): Promise<TestService> {
  const svc = await startService('postgres', {
    env,
    ...(proxy && {
      openDb: (url, config) => {
        const u = new URL(url);
        u.port = String(proxy.port);
        return openPostgres({ ...config, connectionString: u.toString() });
      },
    }),
  });
  running.push(svc);
  return svc;
}

/** Resolves once some session waits on a lock (the request under test is then holding its connection). */
async function waitForLockWaiter(client: pg.Client): Promise<void> {
  // The deadline only marks failure: a loaded machine may take a while to send the request.
  const deadline = performance.now() + 60_000;
  while (performance.now() < deadline) {
    const r = await client.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
    if (r.rows[0].n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('no session started waiting on the lock within 60 s');
}

const update = (svc: TestService, student: string, concept: string) =>
  svc.app.inject({ method: 'POST', url: '/api/bkt/update', payload: { student_id: student, concept_id: concept, correct: true } });

describe('database outages', () => {
  let proxy: TcpProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
  });

  it('an unreachable database is a 503 with Retry-After, /ready says so, and the service recovers when it returns', async () => {
    proxy = await startTcpProxy('127.0.0.1', 5432);
    const svc = await start({ BKT_POOL_TIMEOUT_MS: '1000' }, proxy);
    const [s, c] = [newId(), newId()];
    expect((await update(svc, s, c)).statusCode).toBe(200);
    await proxy.cut();
    const down = await update(svc, s, c);
    expect(down.statusCode).toBe(503);
    expect(down.headers['retry-after']).toBe('1');
    expect(down.json().error).toEqual({ code: 'unavailable', message: 'the database is unavailable, retry later' });
    expect((await svc.app.inject({ method: 'GET', url: `/api/bkt/mastery/${s}/${c}` })).statusCode).toBe(503);
    expect((await svc.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503);
    expect((await svc.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    await proxy.restore();
    // Connections broken by the outage are discarded as they fail; allow a few attempts for that, no more.
    let status = 0;
    for (let i = 0; i < 10 && status !== 200; i++) status = (await update(svc, s, c)).statusCode;
    expect(status).toBe(200);
    expect((await svc.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
    const state = (await svc.app.inject({ method: 'GET', url: `/api/bkt/mastery/${s}/${c}` })).json();
    expect(state.n_responses).toBe(2);
  });

  it('a row lock held past BKT_LOCK_TIMEOUT_MS is a 503; the update succeeds once the lock is released', async () => {
    const svc = await start({ BKT_LOCK_TIMEOUT_MS: '200' });
    const [s, c] = [newId(), newId()];
    expect((await update(svc, s, c)).statusCode).toBe(200);
    const holder = new pg.Client({ connectionString: svc.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM student_mastery WHERE student_id = $1 AND concept_id = $2 FOR UPDATE', [s, c]);
      const blocked = await update(svc, s, c);
      expect(blocked.statusCode).toBe(503);
      expect(blocked.headers['retry-after']).toBe('1');
      await holder.query('COMMIT');
      expect((await update(svc, s, c)).json().version).toBe(2);
    } finally {
      await holder.end();
    }
  });

  it('a wait for a pool connection past BKT_POOL_TIMEOUT_MS is a 503', async () => {
    const svc = await start({ BKT_POOL_SIZE: '1', BKT_POOL_TIMEOUT_MS: '200', BKT_LOCK_TIMEOUT_MS: '10000' });
    const [s, c] = [newId(), newId()];
    expect((await update(svc, s, c)).statusCode).toBe(200);
    const holder = new pg.Client({ connectionString: svc.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM student_mastery WHERE student_id = $1 AND concept_id = $2 FOR UPDATE', [s, c]);
      // This one takes the only connection and waits on the lock...
      const first = update(svc, s, c);
      await waitForLockWaiter(holder);
      // ...so this one, on another pair, waits for a connection and gives up.
      const second = await update(svc, newId(), newId());
      expect(second.statusCode).toBe(503);
      await holder.query('COMMIT');
      expect((await first).statusCode).toBe(200);
    } finally {
      await holder.end();
    }
  });
});
