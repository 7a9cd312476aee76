/** Student-level cross-validation: the folds, the held-out predictions, the fallback accounting, on real data. */
import { describe, expect, it } from 'vitest';
import { conceptSequences, crossValidate, type DatasetFit, DEFAULT_PARAMS, evaluateDataset, fitDataset, makeFitOptions, type ResponseData, traceMastery } from '../../src/bkt/index.js';
import { assignFolds, selectStudents } from '../../src/bkt/cv.js';
import { loadResponses } from '../support/load.js';
import { TEST_SEED } from '../support/seed.js';

const ct = loadResponses('ct_pybkt.csv');

describe('assignFolds', () => {
  it('puts every student in exactly one fold, balanced, the same for the same seed', () => {
    const folds = assignFolds(ct, 5, TEST_SEED);
    const sizes = [0, 0, 0, 0, 0];
    for (const f of folds) sizes[f]++;
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    expect(sizes.reduce((a, b) => a + b)).toBe(ct.studentIds.length);
    expect(assignFolds(ct, 5, TEST_SEED)).toEqual(folds);
    expect(assignFolds(ct, 5, TEST_SEED + 1)).not.toEqual(folds);
  });

  it('rejects fewer than 2 folds and more folds than students', () => {
    expect(() => assignFolds(ct, 1, 0)).toThrow(/folds must be an integer >= 2/);
    expect(() => assignFolds(ct, ct.studentIds.length + 1, 0)).toThrow(/must not exceed the number of students/);
  });
});

describe('selectStudents', () => {
  it('keeps whole sequences of the chosen students, traced exactly as in the full data', () => {
    const keep = (s: number) => s % 3 === 0;
    const { data: sub, fullRow } = selectStudents(ct, keep);
    const full = new Float64Array(ct.responses.length);
    const part = new Float64Array(sub.responses.length);
    traceMastery(DEFAULT_PARAMS, ct, { pCorrect: full });
    traceMastery(DEFAULT_PARAMS, sub, { pCorrect: part });
    let expectedRows = 0;
    for (let s = 0; s + 1 < ct.offsets.length; s++) if (keep(ct.seqStudent[s])) expectedRows += ct.offsets[s + 1] - ct.offsets[s];
    expect(sub.responses.length).toBe(expectedRows);
    for (let t = 0; t < part.length; t++) {
      expect(part[t]).toBe(full[fullRow[t]]);
      expect(sub.responses[t]).toBe(ct.responses[fullRow[t]]);
      expect(sub.rowOf[t]).toBe(ct.rowOf[fullRow[t]]);
    }
    for (const s of sub.seqStudent) expect(keep(s)).toBe(true);
  });
});

describe('crossValidate', () => {
  it('trains without the held-out students and predicts each row once from its own earlier rows', async () => {
    const seen: ResponseData[] = [];
    const fit = (train: ResponseData) => {
      seen.push(train);
      return fitDataset(train, { restarts: 1 });
    };
    const result = await crossValidate(ct, { folds: 4, seed: TEST_SEED, restarts: 1 }, fit);
    const foldOf = assignFolds(ct, 4, TEST_SEED);
    expect(seen.length).toBe(4);
    seen.forEach((train, f) => {
      for (const s of train.seqStudent) expect(foldOf[s]).not.toBe(f);
    });
    // Re-predict each fold's students by hand with that fold's model.
    const expected = new Float64Array(ct.responses.length);
    for (let f = 0; f < 4; f++) {
      const model = fitDataset(seen[f], { restarts: 1 });
      const { data: test, fullRow } = selectStudents(ct, (s) => foldOf[s] === f);
      const local = new Float64Array(test.responses.length);
      for (let c = 0; c < ct.conceptIds.length; c++) {
        const own = model.concepts.find((x) => x.conceptId === ct.conceptIds[c]);
        const params = own && own.use === 'fitted' ? own.params : model.fallback.params;
        traceMastery(params, conceptSequences(test, c), { pCorrect: local });
      }
      local.forEach((p, t) => (expected[fullRow[t]] = p));
    }
    expect(result.pCorrect).toEqual(expected);
    expect(result.pooled).toEqual(evaluateDataset(ct, expected).overall);
    expect(result.perFold.reduce((a, f) => a + f.responses, 0)).toBe(ct.responses.length);
    const aucs = result.perFold.map((f) => f.auc!);
    expect(result.foldAuc.mean).toBeCloseTo(aucs.reduce((a, b) => a + b) / aucs.length, 12);
    expect(result.pooled.auc).toBeGreaterThan(0.5);
  });

  it('counts the test rows of concepts absent, degenerate or few-data in training, and uses the fallback for them', async () => {
    // A fake fit: the first concept is absent, the second degenerate, the third few-data, the rest fitted.
    const fallbackParams = { prior: 0.5, learn: 0.1, guess: 0.2, slip: 0.1, forget: 0 };
    const fitted = { prior: 0.3, learn: 0.2, guess: 0.2, slip: 0.1, forget: 0 };
    const flags = (degenerate: boolean, few: boolean) => ({ degenerate, few_data: few, mastery_unreachable: false, mastery_slow: false, at_bound: false, reasons: [] });
    const fake = (train: ResponseData): DatasetFit => ({
      options: makeFitOptions(),
      concepts: train.conceptIds.slice(1).map((conceptId, k) => ({
        conceptId, params: fitted, logLik: 0, iterations: 1, converged: true, restarts: 1, bestRestart: 0,
        responses: 0, students: 0, gap: null, opportunitiesToMastery: null, correctToMastery: null, masteryCeiling: 1, advisories: [],
        flags: flags(k === 0, k === 1), use: k <= 1 ? 'fallback' : 'fitted',
      })),
      fallback: { source: 'pooled', params: fallbackParams, pooled: null },
      responses: train.responses.length, logLik: 0, rowIterations: 0,
    });
    const result = await crossValidate(ct, { folds: 3, seed: 1 }, fake);
    const rowsOf = (c: number) => ct.offsets[ct.conceptSeqs[c + 1]] - ct.offsets[ct.conceptSeqs[c]];
    expect(result.fallback.absent).toEqual({ concepts: 3, rows: rowsOf(0) });
    expect(result.fallback.degenerate).toEqual({ concepts: 3, rows: rowsOf(1) });
    expect(result.fallback.fewData).toEqual({ concepts: 3, rows: rowsOf(2) });
    expect(result.fallback.rowShare).toBeCloseTo((rowsOf(0) + rowsOf(1) + rowsOf(2)) / ct.responses.length, 12);
    // The first row of every sequence is predicted from the prior of the params it used.
    for (let c = 0; c < 4; c++) {
      const p = c <= 2 ? fallbackParams : fitted;
      const t = ct.offsets[ct.conceptSeqs[c]];
      expect(result.pCorrect[t]).toBeCloseTo(p.prior * (1 - p.slip) + (1 - p.prior) * p.guess, 14);
    }
  });
});
