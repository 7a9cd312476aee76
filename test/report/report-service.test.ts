/**
 * The admin report's data from a real store: curves aggregated in SQL equal the core's counts from the same log,
 * a bound on the history makes it sample students by hash (stable, and said on the page), and the route checks its
 * token and query.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  conceptSequences, countOpportunities, DEFAULT_PARAMS, traceMastery,
} from '../../src/bkt/index.js';
import { loadResponseData } from '../../src/cli/load.js';
import { DEFAULT_COLUMNS } from '../../src/cli/csv-input.js';
import { renderAdminReport } from '../../src/report/admin-report.js';
import { importedId, ReportService } from '../../src/service/index.js';
import { SqlReportStore } from '../../src/store/report-store.js';
import { dataPath } from '../support/data.js';
import { DRIVERS, startService, type TestService } from '../support/service.js';
import { ADMIN, importInProcess, SERVICE } from '../fitjobs/support.js';

const SUBSET = dataPath('assist2009_pybkt_subset.csv');
const SILENT = { phase() {}, update() {}, stop() {} };

describe.each(DRIVERS)('admin report on %s', (driver) => {
  let svc: TestService;
  let rows: number;
  beforeAll(async () => {
    svc = await startService(driver, { env: { BKT_ADMIN_TOKENS: ADMIN, BKT_SERVICE_TOKENS: SERVICE } });
    rows = (await importInProcess(svc.db, SUBSET)).rows;
  });
  afterAll(async () => {
    await svc?.stop();
  });

  const service = () => new ReportService(new SqlReportStore(svc.db), async () => {
    throw new Error('no job expected');
  });

  it('draws every concept\'s curve from the whole history, equal to the core on the log', async () => {
    const report = await service().build({ maxOpportunity: 15, minStudents: 1 });
    expect(report.history).toEqual({ rows, sampled: false, share: 1 });
    const { data } = await loadResponseData(SUBSET, DEFAULT_COLUMNS, SILENT);
    const pCorrect = new Float64Array(data.responses.length);
    expect(data.conceptIds.length).toBeGreaterThan(1);
    for (let c = 0; c < data.conceptIds.length; c++) {
      traceMastery(DEFAULT_PARAMS, conceptSequences(data, c), { pCorrect });
      const expected = countOpportunities(conceptSequences(data, c), pCorrect, 15);
      const got = report.concepts.find((x) => x.conceptId === importedId('concept', data.conceptIds[c]))!;
      expect(got.curve.map((p) => p.students)).toEqual([...expected.students].filter((n) => n > 0));
      expect(got.curve.map((p) => Math.round(p.errorRate * p.students))).toEqual([...expected.errors].filter((_, k) => expected.students[k] > 0));
      got.curve.forEach((p, k) => expect(p.predictedErrorRate!).toBeCloseTo(expected.predictedErrors[k] / expected.students[k], 9));
      expect(got.mastery.reduce((a, b) => a + b, 0)).toBe(data.conceptSeqs[c + 1] - data.conceptSeqs[c]);
    }
  });

  it('samples students by hash past the bound, the same sample every time, and the page says so', async () => {
    const full = await service().build({ minStudents: 1 });
    const a = await service().build({ minStudents: 1, historyBound: Math.floor(rows / 4) });
    const b = await service().build({ minStudents: 1, historyBound: Math.floor(rows / 4) });
    expect(a.history.sampled).toBe(true);
    expect(a.history.share).toBe(Math.floor((1024 * Math.floor(rows / 4)) / rows) / 1024);
    expect(a.concepts).toEqual(b.concepts);
    const first = (r: typeof a) => r.concepts.reduce((n, c) => n + (c.curve[0]?.students ?? 0), 0);
    expect(first(a)).toBeGreaterThan(0);
    expect(first(a)).toBeLessThan(first(full) * 0.5);
    expect(await renderAdminReport(a)).toContain(`sample of ${(a.history.share * 100).toFixed(1)}% of students, chosen by a hash of their id`);
  });

  it('GET /admin/report: admin token only, strict CSP, query checked', async () => {
    const admin = { authorization: `Bearer ${ADMIN}` };
    expect((await svc.app.inject({ method: 'GET', url: '/admin/report', headers: { authorization: `Bearer ${SERVICE}` } })).statusCode).toBe(403);
    const r = await svc.app.inject({ method: 'GET', url: '/admin/report?max_opportunity=5', headers: admin });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['content-security-policy']).toMatch(/^default-src 'none'; style-src 'sha256-[^']+'; script-src 'sha256-[^']+';.*frame-ancestors 'none'$/);
    expect(r.body).toMatch(/^<!DOCTYPE html>/);
    expect(r.body).toContain('No fit job has run.');
    for (const bad of ['max_opportunity=0', 'max_opportunity=201', 'max_opportunity=abc', 'min_students=0', 'colour=red']) {
      const e = await svc.app.inject({ method: 'GET', url: `/admin/report?${bad}`, headers: admin });
      expect(e.statusCode, bad).toBe(400);
      expect(e.json().error.message, bad).toMatch(/max_opportunity|min_students|colour|additional/);
    }
  });
});
