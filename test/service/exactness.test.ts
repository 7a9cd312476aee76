/**
 * Exact through the whole path: long statics2011 students, every answer through the real app, the stored state read
 * back from the database after each one and compared with pyBKT's p_mastery_after (and the response's numbers with
 * p_mastery_before and p_correct) within 1e-9. Ids are mapped to UUIDs with UUIDv5.
 *
 * The students are the longest one plus the two on which a store keeping P(L) alone goes most wrong (found here by
 * replaying that lossy form), so the test fails if either probability of the state is lost on its way through SQL.
 */
import { describe, expect, it } from 'vitest';
import { readCsv } from '../support/data.js';
import { DRIVERS, idFor } from '../support/service.js';
import { serviceForSuite } from '../support/suite-service.js';

const TOL = 1e-9;
const LONGEST = 1;
const LOSSY = 2;

/** P(L)-only replay (the lossy form): its worst error per student. */
function lossyError(rows: Row[]): Map<string, number> {
  const state = new Map<string, number>();
  const worst = new Map<string, number>();
  for (const r of rows) {
    const key = `${r.student}/${r.concept}`;
    const pL = state.get(key) ?? 0.1;
    const post = r.correct ? (pL * 0.9) / (pL * 0.9 + (1 - pL) * 0.25) : (pL * 0.1) / (pL * 0.1 + (1 - pL) * 0.75);
    const next = post + (1 - post) * 0.2;
    state.set(key, next);
    worst.set(r.student, Math.max(worst.get(r.student) ?? 0, Math.abs(next - r.after)));
  }
  return worst;
}

interface Row {
  student: string;
  concept: string;
  correct: boolean;
  before: number;
  after: number;
  pCorrect: number;
}

function chosenRows(): { rows: Row[]; lossyWorst: number } {
  const { header, rows: raw } = readCsv('golden/statics2011_fixed.csv.gz');
  const col = (n: string) => header.indexOf(n);
  const [iS, iC, iY] = [col('student_id'), col('concept_id'), col('correct')];
  const [iBefore, iAfter, iP] = [col('p_mastery_before'), col('p_mastery_after'), col('p_correct')];
  const all: Row[] = raw.map((r) => ({
    student: r[iS],
    concept: r[iC],
    correct: r[iY] === '1',
    before: Number(r[iBefore]),
    after: Number(r[iAfter]),
    pCorrect: Number(r[iP]),
  }));
  const counts = new Map<string, number>();
  for (const r of all) counts.set(r.student, (counts.get(r.student) ?? 0) + 1);
  const longest = [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, LONGEST).map(([s]) => s);
  const lossy = [...lossyError(all).entries()].sort((a, b) => b[1] - a[1]).slice(0, LOSSY);
  const chosen = new Set([...longest, ...lossy.map(([s]) => s)]);
  return { rows: all.filter((r) => chosen.has(r.student)), lossyWorst: lossy[LOSSY - 1][1] };
}

describe.each(DRIVERS)('statics2011 replayed through the service on %s', (driver) => {
  const svc = serviceForSuite(driver);

  it('matches pyBKT within 1e-9, state read back after every answer, where P(L) alone would be off', async () => {
    const { rows, lossyWorst } = chosenRows();
    expect(rows.length).toBeGreaterThan(2000);
    expect(lossyWorst).toBeGreaterThan(0.1);
    let worst = 0;
    for (const row of rows) {
      const [s, c] = [idFor('student', row.student), idFor('concept', row.concept)];
      const r = await svc.app.inject({ method: 'POST', url: '/api/bkt/update', payload: { student_id: s, concept_id: c, correct: row.correct } });
      expect(r.statusCode).toBe(200);
      const body = r.json();
      const [stored] = await svc.db.query<{ p_known: number }>(
        'SELECT p_known FROM student_mastery WHERE student_id = $1 AND concept_id = $2',
        [s, c],
      );
      const errors = [
        Math.abs(stored.p_known - row.after),
        Math.abs(body.mastery_after - row.after),
        Math.abs(body.mastery_before - row.before),
        Math.abs(body.p_correct - row.pCorrect),
      ];
      worst = Math.max(worst, ...errors);
    }
    expect(worst).toBeLessThan(TOL);
  });
});
