/** Evaluation metrics against their definitions, computed the slow, obvious way. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { auc, evaluateDataset, meanConceptAuc, scorePredictions } from '../../src/bkt/evaluate.js';
import { buildResponseData, internRows } from '../../src/bkt/build.js';

import { TEST_SEED as SEED } from '../support/seed.js';

/** O(n^2) AUC: pairs (correct, wrong) ranked right, ties half. */
function pairwiseAuc(y: number[], p: number[]): number | null {
  let pairs = 0;
  let total = 0;
  for (let i = 0; i < y.length; i++) {
    if (!y[i]) continue;
    for (let j = 0; j < y.length; j++) {
      if (y[j]) continue;
      total++;
      pairs += p[i] > p[j] ? 1 : p[i] === p[j] ? 0.5 : 0;
    }
  }
  return total === 0 ? null : pairs / total;
}

describe('scorePredictions', () => {
  it('matches the definitions on a small example', () => {
    const y = Uint8Array.from([1, 0, 1, 1, 0]);
    const p = Float64Array.from([0.9, 0.2, 0.4, 0.6, 0.6]);
    const m = scorePredictions(y, p);
    expect(m.responses).toBe(5);
    expect(m.correct).toBe(3);
    expect(m.logLik).toBeCloseTo(Math.log(0.9) + Math.log(0.8) + Math.log(0.4) + Math.log(0.6) + Math.log(0.4), 12);
    expect(m.rmse).toBeCloseTo(Math.sqrt((0.01 + 0.04 + 0.36 + 0.16 + 0.36) / 5), 12);
    expect(m.accuracy).toBeCloseTo(3 / 5, 12); // 0.9 right, 0.2 right, 0.4 wrong, 0.6 right, 0.6 wrong
    // pairs: (0.9 vs .2, .6) = 2; (0.4 vs .2 = 1, vs .6 = 0); (0.6 vs .2 = 1, vs .6 tie = .5) -> 4.5 / 6
    expect(m.auc).toBeCloseTo(4.5 / 6, 12);
  });

  it('gives a null AUC for a single class and for no rows', () => {
    expect(auc(Uint8Array.from([1, 1]), Float64Array.from([0.3, 0.4]))).toBeNull();
    expect(auc(Uint8Array.from([0, 0]), Float64Array.from([0.3, 0.4]))).toBeNull();
    expect(scorePredictions(new Uint8Array(0), new Float64Array(0)).auc).toBeNull();
  });

  it('equals pairwise AUC, with heavy ties, over all rows and over index subsets', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 6 })), { minLength: 1, maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (rows, pick) => {
          const y = rows.map(([c]) => (c ? 1 : 0));
          const p = rows.map(([, k]) => k / 6);
          const ya = Uint8Array.from(y);
          const pa = Float64Array.from(p);
          const whole = pairwiseAuc(y, p);
          const got = auc(ya, pa);
          if (whole === null) expect(got).toBeNull();
          else expect(got).toBeCloseTo(whole, 12);
          const idx = pick.map((k) => k % rows.length);
          const sub = pairwiseAuc(idx.map((i) => y[i]), idx.map((i) => p[i]));
          const gotSub = auc(ya, pa, idx);
          if (sub === null) expect(gotSub).toBeNull();
          else expect(gotSub).toBeCloseTo(sub, 12);
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('does not depend on row order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.double({ min: 0, max: 1, noNaN: true })), { minLength: 2 }), (rows) => {
        const y = Uint8Array.from(rows, ([c]) => (c ? 1 : 0));
        const p = Float64Array.from(rows, ([, v]) => v);
        const a = scorePredictions(y, p);
        const b = scorePredictions(y.slice().reverse(), p.slice().reverse());
        expect(b.auc).toBe(a.auc);
        expect(b.accuracy).toBe(a.accuracy);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });
});

describe('evaluateDataset', () => {
  it('scores each concept on its own rows and all rows overall', () => {
    const rows = internRows(
      ['s1', 's1', 's2', 's2', 's1', 's3', 's3'],
      ['a', 'a', 'a', 'b', 'b', 'b', 'a'],
      [1, 0, 1, 1, 0, 0, 1],
      [1, 2, 1, 2, 3, 1, 2],
    );
    const { data } = buildResponseData(rows);
    const p = Float64Array.from(data.responses, (_, t) => 0.1 + 0.1 * t);
    const m = evaluateDataset(data, p);
    expect(m.concepts.map((c) => c.conceptId)).toEqual(['a', 'b']);
    expect(m.concepts.map((c) => c.responses)).toEqual([4, 3]);
    expect(m.overall.responses).toBe(7);
    expect(m.concepts[0].logLik + m.concepts[1].logLik).toBeCloseTo(m.overall.logLik, 12);
    for (const c of m.concepts) {
      const idx = [...data.responses.keys()].filter((t) => data.conceptIds[conceptOf(data, t)] === c.conceptId);
      expect(c.auc).toBe(auc(data.responses, p, idx));
    }
    const means = meanConceptAuc(m.concepts);
    const withAuc = m.concepts.filter((c) => c.auc !== null);
    expect(means.macro).toBeCloseTo(withAuc.reduce((s, c) => s + c.auc!, 0) / withAuc.length, 12);
  });
});

function conceptOf(data: ReturnType<typeof buildResponseData>['data'], t: number): number {
  let seq = 0;
  while (data.offsets[seq + 1] <= t) seq++;
  let c = 0;
  while (data.conceptSeqs[c + 1] <= seq) c++;
  return c;
}
