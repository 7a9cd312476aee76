/**
 * The core against pyBKT on real data: every row, every column of the four golden files, within 1e-9.
 * Both paths are checked: row-by-row `updateMastery` and whole-sequence `traceMastery`.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_PARAMS, initialState, traceMastery, updateMastery, type MasteryState } from '../src/bkt/index.js';
import { GOLDEN_FILES, readCsv } from './support/data.js';

const TOL = 1e-9;

describe.each(GOLDEN_FILES)('golden %s', (file) => {
  const { header, rows } = readCsv(file);
  const col = (name: string) => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`${file}: no column ${name}`);
    return i;
  };
  const [iStudent, iConcept, iCorrect] = [col('student_id'), col('concept_id'), col('correct')];
  const expected = ['p_correct', 'p_mastery_before', 'p_posterior', 'p_mastery_after'].map(col);

  it('matches updateMastery row by row', () => {
    const states = new Map<string, MasteryState>();
    let worst = 0;
    for (const r of rows) {
      const key = `${r[iStudent]}\u0000${r[iConcept]}`;
      const u = updateMastery(states.get(key) ?? initialState(DEFAULT_PARAMS), r[iCorrect] === '1', DEFAULT_PARAMS);
      states.set(key, u.state);
      const got = [u.pCorrect, u.masteryBefore, u.posterior, u.masteryAfter];
      for (let k = 0; k < 4; k++) worst = Math.max(worst, Math.abs(got[k] - Number(r[expected[k]])));
    }
    expect(rows.length).toBeGreaterThan(1000);
    expect(worst).toBeLessThanOrEqual(TOL);
  });

  it('matches traceMastery over flat arrays', () => {
    // Group rows into (student, concept) sequences, keeping time order within each.
    const groups = new Map<string, number[]>();
    rows.forEach((r, i) => {
      const key = `${r[iStudent]}\u0000${r[iConcept]}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push(i);
    });
    const order = new Uint32Array(rows.length);
    const offsets = new Uint32Array(groups.size + 1);
    let n = 0;
    let s = 0;
    for (const g of groups.values()) {
      for (const i of g) order[n++] = i;
      offsets[++s] = n;
    }
    const responses = Uint8Array.from(order, (i) => (rows[i][iCorrect] === '1' ? 1 : 0));
    const cols = {
      pCorrect: new Float64Array(n),
      masteryBefore: new Float64Array(n),
      posterior: new Float64Array(n),
      masteryAfter: new Float64Array(n),
    };
    traceMastery(DEFAULT_PARAMS, { responses, offsets }, cols);
    const got = [cols.pCorrect, cols.masteryBefore, cols.posterior, cols.masteryAfter];
    let worst = 0;
    for (let t = 0; t < n; t++) {
      const r = rows[order[t]];
      for (let k = 0; k < 4; k++) worst = Math.max(worst, Math.abs(got[k][t] - Number(r[expected[k]])));
    }
    expect(worst).toBeLessThanOrEqual(TOL);
  });
});
