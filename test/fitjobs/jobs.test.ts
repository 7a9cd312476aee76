/**
 * The life of fit jobs: one at a time (409), a concept changed during the fit is skipped, flagged fits are kept out
 * unless asked, a process that dies leaves its job interrupted (found at the next start, or by its stale heartbeat),
 * failures say nothing internal, and service tokens cannot reach any admin route.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitDataset } from '../../src/bkt/index.js';
import { loadConfig } from '../../src/config.js';
import { createRuntime } from '../../src/runtime.js';
import type { Fitter } from '../../src/service/index.js';
import { openPostgres } from '../../src/store/postgres-driver.js';
import { dataPath } from '../support/data.js';
import { createScratchDatabase } from '../support/pg.js';
import { newId, startService, type TestService } from '../support/service.js';
import { ADMIN, importInProcess, runFit, SERVICE, waitForJob } from './support.js';
import { seedPgliteDir } from '../support/pglite-template.js';

const SUBSET = dataPath('assist2009_pybkt_subset.csv');

/** A fitter that waits until released, then fits on this thread. */
function gatedFitter() {
  let release!: () => void;
  let entered!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const started = new Promise<void>((r) => (entered = r));
  const fitter: Fitter = async (data, options) => {
    entered();
    await gate;
    return fitDataset(data, options);
  };
  return { fitter, release, started };
}

/** A fitter that never returns: the job stays running until its process goes away. */
const hangingFitter: Fitter = () => new Promise(() => {});

describe('one job at a time, and concepts changed meanwhile', () => {
  let svc: TestService;
  let gated = gatedFitter();
  let current: Fitter = (...args) => gated.fitter(...args);
  beforeAll(async () => {
    svc = await startService('pglite', { fitter: (...args) => current(...args) });
    await importInProcess(svc.db, SUBSET);
  });
  afterAll(async () => {
    await svc?.stop();
  });
  const post = (url: string, payload: unknown, method: 'POST' | 'PUT' = 'POST') => svc.app.inject({ method, url, payload: payload as object });

  it('a second fit while one runs is 409 fit_in_progress; the first finishes and then a new one may start', async () => {
    const first = await post('/api/bkt/fit', {});
    expect(first.statusCode).toBe(202);
    expect(first.headers.location).toBe(`/api/bkt/fit/${first.json().job_id}`);
    await gated.started;
    const running = await waitForJob(svc.app, first.json().job_id, ['running']);
    expect(running.progress.phase).toBe('fitting');
    expect(running.progress.rows_read).toBe(10791);
    const second = await post('/api/bkt/fit', { restarts: 1 });
    expect(second.statusCode).toBe(409);
    expect(second.json().error.code).toBe('fit_in_progress');
    gated.release();
    const done = await waitForJob(svc.app, first.json().job_id);
    expect(done.status).toBe('done');
    gated = gatedFitter();
    gated.release();
    await runFit(svc.app, { restarts: 1 });
  });

  it('a concept whose parameters an admin changed during the fit is skipped and reported; the others are applied', async () => {
    const list = await svc.app.inject({ method: 'GET', url: '/api/bkt/parameters' });
    const [a, b] = list.json().concepts;
    current = async (data, options) => {
      const put = await post(`/api/bkt/parameters/${a.concept_id}`, { prior: 0.3, learn: 0.1, guess: 0.2, slip: 0.1 }, 'PUT');
      expect(put.statusCode).toBe(200);
      return fitDataset(data, options);
    };
    const job = await runFit(svc.app, {});
    const byId = new Map(job.results.concepts.map((c: { concept_id: string }) => [c.concept_id, c]));
    expect(byId.get(a.concept_id)).toMatchObject({
      outcome: 'skipped_changed',
      applied: false,
      previous_version: a.version,
      new_version: null,
      reasons: expect.arrayContaining(['its parameters were changed during the fit']),
    });
    expect(byId.get(b.concept_id)).toMatchObject({ outcome: 'applied', previous_version: b.version, new_version: b.version + 1 });
    const kept = await svc.app.inject({ method: 'GET', url: `/api/bkt/parameters/${a.concept_id}` });
    expect(kept.json()).toMatchObject({ prior: 0.3, learn: 0.1, guess: 0.2, slip: 0.1, forget: 0, version: a.version + 1, fitted_at: null });
  });

  it('fits flagged few_data are not applied unless apply_degenerate; min_responses leaves small concepts unfitted', async () => {
    current = async (data, options) => fitDataset(data, options);
    const small = newId('concept');
    const responses = Array.from({ length: 12 }, (_, i) => ({ student_id: newId('s'), concept_id: small, correct: i % 3 !== 0 }));
    expect((await post('/api/bkt/update/batch', { responses })).statusCode).toBe(200);

    const kept = await runFit(svc.app, { concept_ids: [small] });
    expect(kept.results.concepts).toEqual([
      expect.objectContaining({ concept_id: small, outcome: 'not_applied_flagged', applied: false, responses: 12 }),
    ]);
    expect(kept.results.concepts[0].flags.few_data).toBe(true);
    expect((await svc.app.inject({ method: 'GET', url: `/api/bkt/parameters/${small}` })).json()).toMatchObject({ version: 0, source: 'defaults' });

    const skipped = await runFit(svc.app, { concept_ids: [small], min_responses: 13 });
    expect(skipped.results.concepts).toEqual([
      expect.objectContaining({ concept_id: small, outcome: 'skipped_few_responses', params: null, responses: 12 }),
    ]);

    const applied = await runFit(svc.app, { concept_ids: [small], apply_degenerate: true });
    expect(applied.results.concepts[0]).toMatchObject({ outcome: 'applied', new_version: 1 });
    expect((await svc.app.inject({ method: 'GET', url: `/api/bkt/parameters/${small}` })).json()).toMatchObject({ version: 1, sample_size: 12 });
  });

  it('a fit that fails is failed, with a message that says nothing internal', async () => {
    current = async () => {
      throw new Error('worker crashed at /srv/app/dist/fitting/worker.js:12');
    };
    const r = await post('/api/bkt/fit', {});
    const job = await waitForJob(svc.app, r.json().job_id);
    expect(job.status).toBe('failed');
    expect(job.error).toBe('the fit failed; the service log has the details');
    current = async (data, options) => fitDataset(data, options);
  });

  it('rejects bad options naming the field, and unknown jobs', async () => {
    const cases: [unknown, string][] = [
      [{ restarts: 0 }, 'restarts'],
      [{ bounds: { guess: 2 } }, 'bounds.guess'],
      [{ fix: { slip: 1 } }, 'fix.slip'],
      [{ concept_ids: ['x'] }, 'concept_ids[0]'],
      [{ concept_ids: [] }, 'concept_ids'],
      [{ replay: 'yes' }, 'replay'],
      [{ speed: 3 }, 'speed'],
    ];
    for (const [body, field] of cases) {
      const r = await post('/api/bkt/fit', body);
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(r.json().error).toMatchObject({ code: 'invalid_input', field });
    }
    const missing = await svc.app.inject({ method: 'GET', url: `/api/bkt/fit/${newId()}` });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('not_found');
  });
});

describe('parameters', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService('pglite');
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('GET gives the defaults for an unknown concept; PUT sets a new version used by the next update at once', async () => {
    const concept = newId('c');
    const d = await svc.app.inject({ method: 'GET', url: `/api/bkt/parameters/${concept}` });
    expect(d.json()).toMatchObject({ prior: 0.1, learn: 0.2, guess: 0.25, slip: 0.1, forget: 0, version: 0, source: 'defaults', updated_at: null });
    const put = (body: object) => svc.app.inject({ method: 'PUT', url: `/api/bkt/parameters/${concept}`, payload: body });
    expect((await put({ prior: 0.4, learn: 0.1, guess: 0.2, slip: 0.15 })).json()).toMatchObject({ version: 1, source: 'stored', prior: 0.4 });
    expect((await put({ prior: 0.5, learn: 0.1, guess: 0.2, slip: 0.15, forget: 0.01 })).json()).toMatchObject({ version: 2, forget: 0.01 });
    const u = await svc.app.inject({ method: 'POST', url: '/api/bkt/update', payload: { student_id: newId('s'), concept_id: concept, correct: true } });
    expect(u.json().mastery_before).toBe(0.5);
    const [row] = await svc.db.query<{ params_version: number }>('SELECT params_version FROM public.mastery_history WHERE concept_id = $1', [concept]);
    expect(row.params_version).toBe(2);
  });

  it('PUT refuses parameters out of range naming the field', async () => {
    const url = `/api/bkt/parameters/${newId('c')}`;
    for (const [body, field] of [
      [{ prior: 0.1, learn: 0.2, guess: 0, slip: 0.1 }, 'guess'],
      [{ prior: 0.1, learn: 0.2, guess: 0.2, slip: 1 }, 'slip'],
      [{ prior: 1.5, learn: 0.2, guess: 0.2, slip: 0.1 }, 'prior'],
      [{ prior: 0.1, guess: 0.2, slip: 0.1 }, 'learn'],
    ] as const) {
      const r = await svc.app.inject({ method: 'PUT', url, payload: body });
      expect(r.statusCode).toBe(400);
      expect(r.json().error).toMatchObject({ code: 'invalid_input', field });
    }
  });

  it('lists parameters in concept order, in pages', async () => {
    for (let i = 0; i < 5; i++) {
      await svc.app.inject({ method: 'PUT', url: `/api/bkt/parameters/${newId('p')}`, payload: { prior: 0.2, learn: 0.2, guess: 0.2, slip: 0.2 } });
    }
    const all = (await svc.app.inject({ method: 'GET', url: '/api/bkt/parameters' })).json().concepts;
    const seen: string[] = [];
    let after: string | undefined;
    do {
      const r = await svc.app.inject({ method: 'GET', url: `/api/bkt/parameters?limit=2${after ? `&after=${after}` : ''}` });
      seen.push(...r.json().concepts.map((c: { concept_id: string }) => c.concept_id));
      after = r.json().next_after;
    } while (after);
    expect(seen).toEqual(all.map((c: { concept_id: string }) => c.concept_id));
    expect(seen).toEqual([...seen].sort());
    expect(seen.length).toBeGreaterThanOrEqual(5);
  });
});

describe('service tokens get 403 on every admin route', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService('pglite', { env: { BKT_SERVICE_TOKENS: SERVICE, BKT_ADMIN_TOKENS: ADMIN } });
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('every route tagged admin in the OpenAPI document', async () => {
    await svc.app.ready();
    const spec = svc.app.swagger() as { paths: Record<string, Record<string, { tags?: string[] }>> };
    const admin: [string, string][] = [];
    for (const [path, ops] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(ops)) if (op.tags?.includes('admin')) admin.push([method.toUpperCase(), path]);
    }
    expect(admin.map(([m, p]) => `${m} ${p}`).sort()).toEqual(
      [
        'DELETE /api/bkt/students/{student_id}',
        'GET /admin/report',
        'GET /api/bkt/fit/{job_id}',
        'GET /api/bkt/parameters/{concept_id}/items',
        'POST /api/bkt/fit',
        'PUT /api/bkt/parameters/{concept_id}',
        'PUT /api/bkt/parameters/{concept_id}/items',
      ].sort(),
    );
    const bodies: Record<string, object> = {
      'POST /api/bkt/fit': {},
      'PUT /api/bkt/parameters/{concept_id}': { prior: 0.1, learn: 0.2, guess: 0.2, slip: 0.1 },
      'PUT /api/bkt/parameters/{concept_id}/items': { items: [{ item_id: 'q-1', guess: 0.2, slip: 0.1 }] },
    };
    for (const [method, path] of admin) {
      const url = path.replace(/\{[a-z_]+\}/g, () => newId());
      const body = bodies[`${method} ${path}`];
      const as = (token: string) =>
        svc.app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${token}` }, ...(body && { payload: body }) });
      const refused = await as(SERVICE);
      expect(refused.statusCode, `${method} ${path}`).toBe(403);
      expect(refused.json().error.code).toBe('forbidden');
      expect([200, 202, 404]).toContain((await as(ADMIN)).statusCode);
    }
    // The reads for trends and parameters are service routes.
    const reads = [`/api/bkt/parameters`, `/api/bkt/parameters/${newId()}`, `/api/bkt/history/${newId()}`];
    for (const url of reads) {
      expect((await svc.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${SERVICE}` } })).statusCode).toBe(200);
    }
  });
});

describe('a process that dies during a job leaves it interrupted', () => {
  it('on PGlite: the next start marks it interrupted', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bkt-fitjobs-'));
    try {
      const config = loadConfig({ LOG_LEVEL: 'silent', BKT_DATA_DIR: join(dir, 'data') });
      await seedPgliteDir(join(dir, 'data'));
      const first = await createRuntime(config, { fitter: hangingFitter });
      await importInProcess(first.db, SUBSET);
      const id = (await first.app.inject({ method: 'POST', url: '/api/bkt/fit', payload: {} })).json().job_id;
      await waitForJob(first.app, id, ['running']);
      // The process "dies": its database goes away under it, with no chance to record anything.
      first.parameters.stop();
      await first.db.close();
      await first.app.close();

      const second = await createRuntime(config);
      try {
        const job = (await second.app.inject({ method: 'GET', url: `/api/bkt/fit/${id}` })).json();
        expect(job.status).toBe('interrupted');
        expect(job.error).toMatch(/stopped/);
        expect(job.finished_at).not.toBeNull();
        // And a new job may run.
        await runFit(second.app, { restarts: 1 });
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on a server: another instance refuses a second job while it runs, and marks it interrupted once its heartbeat is stale', async () => {
    const scratch = await createScratchDatabase('fitjobs');
    // What each instance counts as stale decides what it does with a job: A and B (a minute) keep A's job alive
    // however long a loaded machine stalls its heartbeat; C (300 ms) takes over once A is gone.
    const env = (staleMs: number) => loadConfig({ LOG_LEVEL: 'silent', BKT_FIT_HEARTBEAT_MS: '20', BKT_FIT_STALE_MS: String(staleMs), BKT_PARAMS_REFRESH_MS: '50' });
    const SHORT_STALE_MS = 300;
    const long = env(60_000);
    try {
      const dbA = openPostgres({ ...long, connectionString: scratch.url });
      const a = await createRuntime(long, { db: dbA, fitter: hangingFitter });
      await importInProcess(dbA, SUBSET);
      const id = (await a.app.inject({ method: 'POST', url: '/api/bkt/fit', payload: {} })).json().job_id;
      const running = await waitForJob(a.app, id, ['running']);
      expect(running.status).toBe('running');
      // Only the heartbeat keeps the job alive: it is refreshed past the stale interval after the job started.
      const beatenFor = async () =>
        (await dbA.query<{ ms: number }>('SELECT (extract(epoch FROM heartbeat_at - started_at) * 1000)::float8 AS ms FROM bkt_internal.fit_jobs WHERE id = $1', [id]))[0].ms;
      while ((await beatenFor()) <= SHORT_STALE_MS) await new Promise((r) => setTimeout(r, 20));

      // A second instance on the same database: A's job is alive (its heartbeat is fresh), so B may not start one.
      const dbB = openPostgres({ ...long, connectionString: scratch.url });
      const b = await createRuntime(long, { db: dbB });
      try {
        const refused = await b.app.inject({ method: 'POST', url: '/api/bkt/fit', payload: {} });
        expect(refused.statusCode).toBe(409);
        expect((await b.app.inject({ method: 'GET', url: `/api/bkt/fit/${id}` })).json().status).toBe('running');
      } finally {
        await b.close();
        await dbB.close();
      }

      // A dies; C, which counts 300 ms without a heartbeat as stale, marks the job interrupted and may run one.
      a.parameters.stop();
      await dbA.close();
      const short = env(SHORT_STALE_MS);
      const dbC = openPostgres({ ...short, connectionString: scratch.url });
      const c = await createRuntime(short, { db: dbC });
      try {
        const job = await waitForJob(c.app, id, ['interrupted', 'done', 'failed']);
        expect(job.status).toBe('interrupted');
        const next = await c.app.inject({ method: 'POST', url: '/api/bkt/fit', payload: { restarts: 1 } });
        expect(next.statusCode).toBe(202);
        await waitForJob(c.app, next.json().job_id);
      } finally {
        await c.close();
        await dbC.close();
        await a.app.close();
      }
    } finally {
      await scratch.drop();
    }
  });

  it('a service that stops during a job marks it interrupted itself and stops the fit', async () => {
    let aborted: unknown;
    const abortable: Fitter = (_data, _options, _progress, signal) =>
      new Promise((_, reject) =>
        signal.addEventListener('abort', () => {
          aborted = signal.reason;
          reject(signal.reason);
        }),
      );
    const svc = await startService('pglite', { fitter: abortable });
    await importInProcess(svc.db, SUBSET);
    const id = (await svc.app.inject({ method: 'POST', url: '/api/bkt/fit', payload: {} })).json().job_id;
    while ((await waitForJob(svc.app, id, ['running'])).progress.phase !== 'fitting') await new Promise((r) => setTimeout(r, 10));
    await svc.fitJobs.close();
    const [row] = await svc.db.query<{ status: string; error: string }>('SELECT status, error FROM bkt_internal.fit_jobs WHERE id = $1', [id]);
    expect(row).toEqual({ status: 'interrupted', error: 'the service stopped before the job finished' });
    expect(aborted).toBeInstanceOf(Error);
    await svc.stop();
  });
});
