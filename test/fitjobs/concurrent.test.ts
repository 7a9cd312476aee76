/**
 * A fit job with replay while the service takes updates on the same pairs (PostgreSQL server, several connections):
 * every update succeeds (no deadlock, no lock timeout), and every pair's counters agree with its history afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataPath } from '../support/data.js';
import { startService, type TestService } from '../support/service.js';
import { importInProcess, waitForJob } from './support.js';

describe('replay under concurrent updates', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService('postgres', { env: { BKT_POOL_SIZE: '6' } });
    await importInProcess(svc.db, dataPath('assist2009_pybkt_subset.csv'));
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('loses no update and leaves every pair consistent with its history', async () => {
    const pairs = await svc.db.query<{ student_id: string; concept_id: string }>('SELECT student_id, concept_id FROM public.student_mastery');
    const start = await svc.app.inject({ method: 'POST', url: '/api/bkt/fit', payload: { replay: true } });
    expect(start.statusCode).toBe(202);
    let done = false;
    const statuses: number[] = [];
    const worker = async (k: number) => {
      for (let i = 0; !done || i < 5; i++) {
        const p = pairs[(k * 7919 + i * 104729) % pairs.length];
        const r = await svc.app.inject({ method: 'POST', url: '/api/bkt/update', payload: { ...p, correct: i % 3 !== 0 } });
        statuses.push(r.statusCode);
      }
    };
    const workers = Array.from({ length: 4 }, (_, k) => worker(k));
    const job = await waitForJob(svc.app, start.json().job_id);
    done = true;
    await Promise.all(workers);
    expect(job.status).toBe('done');
    expect(job.progress.pairs_replayed).toBe(1218);
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);

    const [bad] = await svc.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM public.student_mastery sm
       JOIN (SELECT student_id, concept_id, count(*) AS c, max(seq) AS m, count(*) FILTER (WHERE response_correct) AS k
             FROM public.mastery_history GROUP BY 1, 2) h USING (student_id, concept_id)
       WHERE sm.version <> h.c OR sm.version <> h.m OR sm.n_responses <> h.c OR sm.n_correct <> h.k`,
    );
    expect(bad.n).toBe(0);
    const [total] = await svc.db.query<{ n: number }>('SELECT count(*)::int AS n FROM public.mastery_history');
    expect(total.n).toBe(10791 + statuses.length);
  });
});
