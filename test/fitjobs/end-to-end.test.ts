/**
 * End to end through the real app on both drivers: import the assist2009 pyBKT subset, fit it with a job, compare
 * with `bkt fit` and the core; then replay, and compare the states with `bkt predict --final-states`.
 *
 * `bkt fit` seeds each concept's random restarts with its id, and the service knows concepts by their UUIDs, so the
 * comparison runs `bkt fit` on the same file with the ids replaced by the UUIDs `bkt import` gives them (same rows,
 * same order); the log-likelihood of the job's parameters is also computed on the original file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conceptSequences, logLikelihood } from '../../src/bkt/index.js';
import { DEFAULT_COLUMNS } from '../../src/cli/csv-input.js';
import { loadResponseData } from '../../src/cli/load.js';
import { importedId } from '../../src/service/index.js';
import { bktJson, parseCsv, tempDir } from '../support/bin.js';
import { dataPath } from '../support/data.js';
import { DRIVERS, startService, type TestService } from '../support/service.js';
import { bktWithEnv, importInProcess, runFit, uuidCopy } from './support.js';

const SUBSET = dataPath('assist2009_pybkt_subset.csv');
const SILENT = { phase() {}, update() {}, stop() {} };

interface ParamsFileConcept {
  concept_id: string;
  use: string;
  log_lik: number;
  params: Record<string, number>;
  iterations: number;
}

describe.each(DRIVERS)('fit jobs end to end on %s', (driver) => {
  let svc: TestService;
  let tmp: ReturnType<typeof tempDir>;
  let uuidCsv: string;
  let cliFit: { totals: { log_lik: number }; concepts: ParamsFileConcept[] };

  beforeAll(async () => {
    svc = await startService(driver);
    tmp = tempDir();
    uuidCsv = await uuidCopy(SUBSET, tmp.dir);
    bktJson(['fit', uuidCsv, '-o', join(tmp.dir, 'params.json'), '--threads', '2']);
    cliFit = JSON.parse(readFileSync(join(tmp.dir, 'params.json'), 'utf8'));
  });
  afterAll(async () => {
    await svc?.stop();
    tmp?.cleanup();
  });

  const get = (url: string) => svc.app.inject({ method: 'GET', url });
  const sql = <R extends object>(text: string, params: (string | number)[] = []) => svc.db.query<R>(text, params);

  it('imports the log: one history row per answer, one state per pair', async () => {
    if (driver === 'postgres') {
      const r = bktWithEnv(['import', SUBSET, '--json'], { DATABASE_URL: svc.url!, BKT_MIGRATE: 'false' });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ rows_imported: 10791, pairs_imported: 1218, pairs_already_imported: 0 });
    } else {
      expect(await importInProcess(svc.db, SUBSET)).toMatchObject({ rowsImported: 10791, pairsImported: 1218 });
    }
    const [h] = await sql<{ n: number }>('SELECT count(*)::int AS n FROM public.mastery_history');
    const [m] = await sql<{ n: number; rows: number }>('SELECT count(*)::int AS n, sum(n_responses)::int AS rows FROM public.student_mastery');
    expect(h.n).toBe(10791);
    expect(m).toEqual({ n: 1218, rows: 10791 });
  });

  it('a fit job finds the parameters `bkt fit` finds, with the same log-likelihood', async () => {
    const job = await runFit(svc.app);
    expect(job.results.responses).toBe(10791);
    expect(job.results.concepts).toHaveLength(2);
    for (const c of job.results.concepts) {
      const cli = cliFit.concepts.find((x) => x.concept_id === c.concept_id)!;
      expect(cli.use).toBe('fitted');
      expect(c).toMatchObject({ outcome: 'applied', applied: true, previous_version: 0, new_version: 1 });
      expect(c.log_lik).toBeCloseTo(cli.log_lik, 8);
      for (const name of ['prior', 'learn', 'guess', 'slip', 'forget']) expect(c.params[name]).toBeCloseTo(cli.params[name], 8);
    }
    expect(job.results.log_lik).toBeCloseTo(cliFit.totals.log_lik, 8);

    // The stored parameters, applied to the original file, have the log-likelihood `bkt fit` reports.
    const { data } = await loadResponseData(SUBSET, DEFAULT_COLUMNS, SILENT);
    let total = 0;
    for (let c = 0; c < data.conceptIds.length; c++) {
      const r = await get(`/api/bkt/parameters/${importedId('concept', data.conceptIds[c])}`);
      expect(r.json()).toMatchObject({ version: 1, source: 'stored', sample_size: data.conceptSeqs[c + 1] > 0 ? expect.any(Number) : 0 });
      expect(r.json().fitted_at).not.toBeNull();
      const { prior, learn, guess, slip, forget } = r.json();
      total += logLikelihood(conceptSequences(data, c), { prior, learn, guess, slip, forget });
    }
    expect(total).toBeCloseTo(cliFit.totals.log_lik, 6);
  });

  it('without replay, states continue under the new parameters: nothing is recomputed', async () => {
    const [row] = await sql<{ versions: number[] }>('SELECT array_agg(DISTINCT params_version) AS versions FROM public.student_mastery');
    expect(row.versions).toEqual([0]);
  });

  it('replay recomputes every state from history: equal to `bkt predict --final-states` with the same parameters', async () => {
    const before = await sql<{ n: number; sum: number }>('SELECT count(*)::int AS n, sum(mastery_after) AS sum FROM public.mastery_history');
    const job = await runFit(svc.app, { replay: true });
    for (const c of job.results.concepts) expect(c).toMatchObject({ applied: true, previous_version: 1, new_version: 2 });
    expect(job.results.concepts.reduce((n: number, c: { pairs_replayed: number }) => n + c.pairs_replayed, 0)).toBe(1218);
    expect(job.progress).toMatchObject({ phase: 'finished', pairs_replayed: 1218, pairs_total: 1218 });

    const out = join(tmp.dir, 'states.csv');
    bktJson(['predict', uuidCsv, '--params', join(tmp.dir, 'params.json'), '--final-states', '-o', out]);
    const expected = parseCsv(readFileSync(out, 'utf8'));
    const stored = await sql<{ student_id: string; concept_id: string; p_known: number; p_unknown: number; params_version: number; n_responses: number }>(
      'SELECT student_id, concept_id, p_known, p_unknown, params_version, n_responses FROM public.student_mastery',
    );
    const byPair = new Map(stored.map((s) => [`${s.student_id},${s.concept_id}`, s]));
    expect(expected.rows).toHaveLength(1218);
    let worst = 0;
    for (const [student, concept, known, unknown, , , responses] of expected.rows) {
      const s = byPair.get(`${student},${concept}`)!;
      expect(s.params_version).toBe(2);
      expect(s.n_responses).toBe(Number(responses));
      worst = Math.max(worst, Math.abs(s.p_known - Number(known)), Math.abs(s.p_unknown - Number(unknown)));
    }
    expect(worst).toBeLessThan(1e-9);
    // No history row changed.
    expect(await sql('SELECT count(*)::int AS n, sum(mastery_after) AS sum FROM public.mastery_history')).toEqual(before);
  });

  it('reads a student history in pages, in time order, by concept and time window', async () => {
    const [pick] = await sql<{ student_id: string; n: number }>(
      `SELECT student_id, sum(n_responses)::int AS n FROM public.student_mastery GROUP BY student_id
       HAVING count(*) = 2 ORDER BY sum(n_responses) DESC LIMIT 1`,
    );
    const rows: { concept_id: string; seq: number; created_at: string }[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const r = await get(`/api/bkt/history/${pick.student_id}?limit=4${after ? `&after=${after}` : ''}`);
      expect(r.statusCode).toBe(200);
      rows.push(...r.json().rows);
      after = r.json().next_after;
      pages++;
    } while (after);
    expect(rows).toHaveLength(pick.n);
    expect(pages).toBe(Math.ceil(pick.n / 4) + (pick.n % 4 === 0 ? 1 : 0));
    expect(new Set(rows.map((r) => `${r.concept_id}/${r.seq}`)).size).toBe(pick.n);
    const all = await get(`/api/bkt/history/${pick.student_id}?limit=1000`);
    expect(all.json().rows).toEqual(rows);

    const concept = rows[0].concept_id;
    const one = await get(`/api/bkt/history/${pick.student_id}?concept_id=${concept}&limit=1000`);
    const seqs = one.json().rows.map((r: { seq: number }) => r.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(one.json().rows.every((r: { concept_id: string }) => r.concept_id === concept)).toBe(true);

    const future = await get(`/api/bkt/history/${pick.student_id}?from=${new Date(Date.now() + 60_000).toISOString()}`);
    expect(future.json().rows).toEqual([]);
    const past = await get(`/api/bkt/history/${pick.student_id}?to=2000-01-01T00:00:00Z`);
    expect(past.json().rows).toEqual([]);
    const bad = await get(`/api/bkt/history/${pick.student_id}?after=nonsense`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'invalid_input', field: 'after' });
  });
});
