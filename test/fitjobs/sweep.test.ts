/**
 * The sweep for fit jobs whose process died: a running instance marks such a job interrupted by itself, without
 * anybody reading the job or starting another one. Checked on the store directly (PGlite in memory), so that only
 * the sweep can have changed the row: a job with a live heartbeat is left alone, a stale one is interrupted, a
 * failing sweep is reported and retried rather than thrown, and close() stops it. Then through createRuntime on the
 * PostgreSQL server: one instance's process dies mid-job and another, started while the job was alive, marks it.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createRuntime } from '../../src/runtime.js';
import { FitJobService, type Fitter } from '../../src/service/index.js';
import { SqlFitJobStore } from '../../src/store/fit-store.js';
import { migrate } from '../../src/store/migrate.js';
import { openPostgres } from '../../src/store/postgres-driver.js';
import type { SqlDatabase } from '../../src/store/sql.js';
import { dataPath } from '../support/data.js';
import { createScratchDatabase } from '../support/pg.js';
import { importInProcess, waitForJob } from './support.js';
import { openMemoryPglite } from '../support/pglite-template.js';

const STALE_MS = 200;

/** Counts the sweeps that reach the store, and can make them fail. */
class CountingStore extends SqlFitJobStore {
  calls = 0;
  failing = false;
  override async interruptStaleJobs(staleMs: number | 'all'): Promise<string[]> {
    this.calls++;
    if (this.failing) throw new Error('database away (test)');
    return super.interruptStaleJobs(staleMs);
  }
}

const neverCalled: Fitter = () => Promise.reject(new Error('no job is started in these tests'));

/** A job row as another process would leave it: running, with its heartbeat `ageMs` old (negative: in the future). */
async function insertRunningJob(db: SqlDatabase, ageMs: number): Promise<string> {
  const rows = await db.query<{ id: string }>(
    `INSERT INTO bkt_internal.fit_jobs (options, owner, status, started_at, heartbeat_at)
     VALUES ('{}'::jsonb, 'another-host:1234:dead', 'running', now() - $1::int * interval '1 millisecond',
             now() - $1::int * interval '1 millisecond')
     RETURNING id`,
    [ageMs],
  );
  return rows[0].id;
}

async function statusOf(db: SqlDatabase, id: string): Promise<string> {
  const rows = await db.query<{ status: string }>('SELECT status FROM bkt_internal.fit_jobs WHERE id = $1', [id]);
  return rows[0].status;
}

/** Polls until `done()` holds; fails after `timeoutMs` (the sweep runs every STALE_MS / 2, so this is generous). */
async function until(done: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the sweep on the store (PGlite in memory)', () => {
  let db: SqlDatabase;
  let store: CountingStore;
  let jobs: FitJobService;
  let swept: string[][];
  let errors: unknown[];
  beforeAll(async () => {
    db = await openMemoryPglite(loadConfig({}));
    await migrate(db);
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    await db.query('DELETE FROM bkt_internal.fit_jobs');
    store = new CountingStore(db);
    swept = [];
    errors = [];
    jobs = new FitJobService({
      store,
      fitter: neverCalled,
      owner: 'this-host:1:test',
      heartbeatMs: 50,
      staleMs: STALE_MS,
      threshold: 0.95,
      onStaleJobs: (ids) => swept.push(ids),
      onSweepError: (err) => errors.push(err),
    });
  });
  afterEach(async () => {
    await jobs.close();
  });

  it('leaves a job with a live heartbeat running, and marks it interrupted once its heartbeat is stale, with no read', async () => {
    // The heartbeat is an hour ahead: it stays fresh however slowly the test runs.
    const id = await insertRunningJob(db, -3_600_000);
    jobs.startSweep();
    await until(async () => store.calls >= 3, 'three sweeps ran');
    expect(await statusOf(db, id)).toBe('running');
    expect(swept).toEqual([]);

    // Its process dies: the heartbeat stops (an hour old now). Nothing reads the job or starts another.
    await db.query("UPDATE bkt_internal.fit_jobs SET heartbeat_at = now() - interval '1 hour' WHERE id = $1", [id]);
    await until(async () => (await statusOf(db, id)) !== 'running', 'the job left running');
    const [row] = await db.query<{ status: string; error: string; finished_at: Date | null }>(
      'SELECT status, error, finished_at FROM bkt_internal.fit_jobs WHERE id = $1',
      [id],
    );
    expect(row.status).toBe('interrupted');
    expect(row.error).toMatch(/no heartbeat since/);
    expect(row.finished_at).not.toBeNull();
    expect(swept).toEqual([[id]]);
    expect(errors).toEqual([]);
  });

  it('a failing sweep is reported, not thrown, and the next one tries again', async () => {
    const id = await insertRunningJob(db, 3_600_000);
    store.failing = true;
    jobs.startSweep();
    await until(async () => errors.length >= 2, 'two sweeps failed');
    expect(await statusOf(db, id)).toBe('running');
    expect((errors[0] as Error).message).toBe('database away (test)');
    store.failing = false;
    await until(async () => (await statusOf(db, id)) === 'interrupted', 'a later sweep marked the job');
    expect(swept).toEqual([[id]]);
  });

  it('close() stops the sweep', async () => {
    jobs.startSweep();
    await until(async () => store.calls >= 1, 'a sweep ran');
    await jobs.close();
    const id = await insertRunningJob(db, 3_600_000);
    const calls = store.calls;
    await new Promise((r) => setTimeout(r, 4 * STALE_MS));
    expect(store.calls).toBe(calls);
    expect(await statusOf(db, id)).toBe('running');
  });
});

describe('the sweep in the service (PostgreSQL server)', () => {
  it("an instance marks another instance's job interrupted once that process died, without any GET", async () => {
    const scratch = await createScratchDatabase('sweep');
    // What each instance counts as stale decides what it does with a job. A (a minute) never takes its own job for
    // dead however long a loaded machine stalls its heartbeat; B (5 s) sweeps it once A is gone.
    const env = (staleMs: number) =>
      loadConfig({ LOG_LEVEL: 'silent', BKT_FIT_HEARTBEAT_MS: '50', BKT_FIT_STALE_MS: String(staleMs), BKT_PARAMS_REFRESH_MS: '50' });
    const configA = env(60_000);
    const configB = env(5_000);
    const dbA = openPostgres({ ...configA, connectionString: scratch.url });
    const dbB = openPostgres({ ...configB, connectionString: scratch.url });
    const a = await createRuntime(configA, { db: dbA, fitter: () => new Promise(() => {}) });
    try {
      await importInProcess(dbA, dataPath('assist2009_pybkt_subset.csv'));
      const id = (await a.app.inject({ method: 'POST', url: '/api/bkt/fit', payload: {} })).json().job_id as string;
      await waitForJob(a.app, id, ['running']);
      // B starts while A's job is alive, so B's start does not mark it; afterwards B is never asked about the job.
      const b = await createRuntime(configB, { db: dbB });
      try {
        expect(await statusOf(dbB, id)).toBe('running');
        // A's process dies: its database connections go, so its heartbeat stops, and nothing records the end.
        a.parameters.stop();
        await dbA.close();
        await until(async () => (await statusOf(dbB, id)) !== 'running', "B's sweep marked the job", 60_000);
        expect(await statusOf(dbB, id)).toBe('interrupted');
      } finally {
        await b.close();
      }
    } finally {
      await a.fitJobs.close();
      await a.app.close();
      await dbB.close();
      await dbA.close().catch(() => {});
      await scratch.drop();
    }
  });
});
