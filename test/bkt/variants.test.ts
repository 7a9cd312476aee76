/**
 * The model variants (guess/slip, learn/forget and prior per value of a column): exact E-step against a brute-force
 * sum over hidden paths, monotone EM, recovery of known per-value parameters, fixed values and bounds per value,
 * the tied model's equality with standard EM, and tracing equal to repeated single updates.
 */
import { describe, expect, it } from 'vitest';
import {
  type BktParams, buildResponseData, conceptSequences, fitDataset, initialState, makeFitOptions, NO_OBSERVATION,
  paramsForRow, type PerValueParams, traceMasteryByValue, updateMastery,
} from '../../src/bkt/index.js';
import { runEm } from '../../src/bkt/em.js';
import { SHORT_RUN_ITERATIONS } from '../../src/bkt/options.js';
import {
  emptyValueCounts, eStepByValue, kickByValue, runEmByValue, type ValueModel, type ValueSequences,
} from '../../src/bkt/em-variants.js';
import { valueSequences } from '../../src/bkt/fit-variants.js';
import { fitDatasetParallel } from '../../src/fitting/parallel.js';
import { keepVariants, simulateVariants, type VariantTruth } from '../support/simulate-variants.js';
import { makeRandom } from '../../src/bkt/restarts.js';
import { TEST_SEED } from '../support/seed.js';

/** Likelihood and expected counts of one sequence by summing over all 2^T hidden paths (the definition). */
function bruteForce(m: ValueModel, seq: ValueSequences, start: number, end: number) {
  const T = end - start;
  let total = 0;
  const learnNum = new Float64Array(m.learn.length);
  const learnDen = new Float64Array(m.learn.length);
  const guessNum = new Float64Array(m.guess.length);
  const guessDen = new Float64Array(m.guess.length);
  let priorNum = 0;
  for (let path = 0; path < 1 << T; path++) {
    let prob = 1;
    for (let t = 0; t < T; t++) {
      const i = start + t;
      const known = ((path >> t) & 1) === 1;
      if (t === 0) prob *= known ? m.prior[seq.prior[i]] : 1 - m.prior[seq.prior[i]];
      else {
        const was = ((path >> (t - 1)) & 1) === 1;
        const l = seq.learn[i - 1]; // the transition after the previous row
        prob *= was ? (known ? 1 - m.forget[l] : m.forget[l]) : known ? m.learn[l] : 1 - m.learn[l];
      }
      const o = seq.responses[i];
      const g = seq.guessSlip[i];
      if (o !== NO_OBSERVATION) prob *= known ? (o === 1 ? 1 - m.slip[g] : m.slip[g]) : o === 1 ? m.guess[g] : 1 - m.guess[g];
    }
    total += prob;
    if ((path & 1) === 1) priorNum += prob;
    for (let t = 0; t < T; t++) {
      const i = start + t;
      const known = ((path >> t) & 1) === 1;
      const o = seq.responses[i];
      if (!known && o !== NO_OBSERVATION) {
        guessDen[seq.guessSlip[i]] += prob;
        if (o === 1) guessNum[seq.guessSlip[i]] += prob;
      }
      if (t + 1 < T && !known) {
        learnDen[seq.learn[i]] += prob;
        if (((path >> (t + 1)) & 1) === 1) learnNum[seq.learn[i]] += prob;
      }
    }
  }
  const norm = (a: Float64Array) => a.map((x) => x / total);
  return { likelihood: total, priorNum: priorNum / total, learnNum: norm(learnNum), learnDen: norm(learnDen), guessNum: norm(guessNum), guessDen: norm(guessDen) };
}

const TRUTH: VariantTruth = {
  items: [
    { guess: 0.1, slip: 0.05, template: 0 },
    { guess: 0.3, slip: 0.1, template: 0 },
    { guess: 0.2, slip: 0.2, template: 1 },
    { guess: 0.15, slip: 0.08, template: 1 },
    { guess: 0.25, slip: 0.15, template: 2 },
  ],
  templates: [{ learn: 0.1, forget: 0.02 }, { learn: 0.3, forget: 0.05 }, { learn: 0.2, forget: 0.1 }],
  classes: [{ prior: 0.2 }, { prior: 0.5 }, { prior: 0.8 }],
};

describe('E-step with per-value parameters', () => {
  it('gives the likelihood and expected counts of a brute-force sum over hidden paths', () => {
    const rand = makeRandom(TEST_SEED, 'variants-brute', 0);
    const lengths = [5, 1, 4, 6, 3];
    const offsets = new Uint32Array(lengths.length + 1);
    lengths.forEach((n, i) => (offsets[i + 1] = offsets[i] + n));
    const n = offsets[lengths.length];
    const responses = Uint8Array.from({ length: n }, () => Math.floor(rand() * 3) % 3);
    const code = (k: number) => Uint32Array.from({ length: n }, () => Math.floor(rand() * k));
    const sizes = { guessSlip: 3, learn: 2, prior: 2 };
    const seqs: ValueSequences = {
      responses, offsets, guessSlip: code(3), learn: code(2), prior: code(2), sizes,
      varied: { guessSlip: true, learn: true, prior: true },
    };
    const u = (lo: number, hi: number) => Float64Array.from({ length: 3 }, () => lo + (hi - lo) * rand());
    const m: ValueModel = { prior: u(0.05, 0.9).subarray(0, 2), learn: u(0.05, 0.5).subarray(0, 2), forget: u(0, 0.2).subarray(0, 2), guess: u(0.05, 0.4), slip: u(0.05, 0.3) };
    const counts = emptyValueCounts(sizes);
    const logLik = eStepByValue(seqs, m, counts, new Float64Array(2 * 6));
    let expected = 0;
    const sum = { priorNum: 0, learnNum: new Float64Array(2), learnDen: new Float64Array(2), guessNum: new Float64Array(3), guessDen: new Float64Array(3) };
    for (let s = 0; s < lengths.length; s++) {
      const b = bruteForce(m, seqs, offsets[s], offsets[s + 1]);
      expected += Math.log(b.likelihood);
      sum.priorNum += b.priorNum;
      for (let k = 0; k < 2; k++) (sum.learnNum[k] += b.learnNum[k]), (sum.learnDen[k] += b.learnDen[k]);
      for (let k = 0; k < 3; k++) (sum.guessNum[k] += b.guessNum[k]), (sum.guessDen[k] += b.guessDen[k]);
    }
    expect(logLik).toBeCloseTo(expected, 10);
    expect(counts.priorNum[0] + counts.priorNum[1]).toBeCloseTo(sum.priorNum, 10);
    for (let k = 0; k < 2; k++) {
      expect(counts.learnNum[k]).toBeCloseTo(sum.learnNum[k], 10);
      expect(counts.learnDen[k]).toBeCloseTo(sum.learnDen[k], 10);
    }
    for (let k = 0; k < 3; k++) {
      expect(counts.unknownCorrect[k]).toBeCloseTo(sum.guessNum[k], 10);
      expect(counts.unknownDen[k]).toBeCloseTo(sum.guessDen[k], 10);
    }
  });

  it('with one value per variant, runs exactly as standard EM', () => {
    const data = simulateVariants({ ...TRUTH, items: [TRUTH.items[0]], templates: [TRUTH.templates[0]], classes: [TRUTH.classes[0]] }, 300, 12, 5);
    const o = makeFitOptions({ fitForget: true, tol: 0, maxIterations: 30 });
    const start: BktParams = { prior: 0.4, learn: 0.15, guess: 0.2, slip: 0.1, forget: 0.05 };
    const standard = runEm(conceptSequences(data, 0), start, o, { history: true });
    const byValue = runEmByValue(valueSequences(data, 0), start, o, { history: true });
    expect(byValue.history!.length).toBe(standard.history!.length);
    byValue.history!.forEach((h, i) => expect(h).toBeCloseTo(standard.history![i], 9));
    expect(byValue.values.guess[0]).toBeCloseTo(standard.params.guess, 12);
    expect(byValue.values.learn[0]).toBeCloseTo(standard.params.learn, 12);
  });
});

describe('EM with per-value parameters', () => {
  const data = simulateVariants(TRUTH, 5000, 20, 11);

  it.each([
    ['guess/slip', ['guessSlip'] as const],
    ['learn', ['learn'] as const],
    ['prior', ['prior'] as const],
    ['all three, with forget', ['guessSlip', 'learn', 'prior'] as const],
  ])('never lowers the log-likelihood from one iteration to the next (%s)', (_, kinds) => {
    const d = keepVariants(data, kinds);
    const o = makeFitOptions({ fitForget: true, tol: 0, maxIterations: 40, bounds: { guess: null, slip: null } });
    const em = runEmByValue(valueSequences(d, 0), { prior: 0.5, learn: 0.3, guess: 0.3, slip: 0.3, forget: 0.1 }, o, { history: true });
    const h = em.history!;
    for (let i = 1; i < h.length; i++) expect(h[i] - h[i - 1]).toBeGreaterThanOrEqual(-1e-9 * Math.abs(h[i - 1]));
    expect(em.logLik).toBe(Math.max(...h));
  });

  it('with several starts, runs each for SHORT_RUN_ITERATIONS and returns the better of the first and the leader run on', () => {
    const d = keepVariants(simulateVariants(TRUTH, 400, 12, 23), ['guessSlip', 'learn']);
    const seqs = valueSequences(d, 0);
    const o = makeFitOptions({ fitForget: true, bounds: { guess: null, slip: null }, tol: 1e-7, maxIterations: 200 });
    const rand = makeRandom(TEST_SEED, 'short runs', 0);
    const starts: BktParams[] = Array.from({ length: 6 }, () => ({
      prior: rand(), learn: 0.4 * rand(), guess: 0.4 * rand(), slip: 0.3 * rand(), forget: 0.1 * rand(),
    }));
    const shortO = makeFitOptions({ ...o, maxIterations: SHORT_RUN_ITERATIONS });
    const short = starts.map((s) => runEmByValue(seqs, s, shortO));
    const leader = short.reduce((best, x, j) => (x.logLik > short[best].logLik ? j : best), 0);
    const first = runEmByValue(seqs, starts[0], o, { history: true });
    const lead = runEmByValue(seqs, starts[leader], o, { history: true });
    const chosen = lead.logLik > first.logLik ? lead : first;
    const em = runEmByValue(seqs, starts, o, { history: true });
    expect(em.logLik).toBe(chosen.logLik);
    expect(em.history).toEqual(chosen.history);
    expect(em.logLik).toBeGreaterThanOrEqual(first.logLik);
    const extra = leader === 0 ? 0 : lead.iterations - short[leader].iterations;
    const shortSteps = short.reduce((n, x) => n + x.iterations + 1, 0);
    expect(em.eSteps).toBe(shortSteps + (first.iterations - short[0].iterations) + extra);
  });

  it('shortRuns: an integer >= 1, and ignored by the standard model', () => {
    expect(() => makeFitOptions({ shortRuns: 0 })).toThrow(/shortRuns/);
    expect(() => makeFitOptions({ shortRuns: 1.5 })).toThrow(RangeError);
    const standard = keepVariants(simulateVariants(TRUTH, 200, 10, 29), []);
    const a = fitDataset(standard, { shortRuns: 1 });
    const b = fitDataset(standard, { shortRuns: 7 });
    expect(b.concepts).toEqual(a.concepts);
    expect(b.rowIterations).toBe(a.rowIterations);
  });

  it('kicks: an integer >= 0, ignored by the standard model, and never below the fit they start from', () => {
    expect(() => makeFitOptions({ kicks: -1 })).toThrow(/kicks/);
    expect(() => makeFitOptions({ kicks: 0.5 })).toThrow(RangeError);
    const standard = keepVariants(simulateVariants(TRUTH, 200, 10, 29), []);
    const a = fitDataset(standard, { kicks: 0 });
    const b = fitDataset(standard, { kicks: 9 });
    expect(b.concepts).toEqual(a.concepts);
    expect(b.rowIterations).toBe(a.rowIterations);

    const d = keepVariants(simulateVariants(TRUTH, 300, 12, 31), ['guessSlip', 'learn', 'prior']);
    const seqs = valueSequences(d, 0);
    const o = makeFitOptions({ fitForget: true, bounds: { guess: null, slip: null }, fixed: { prior: 0.3 }, kicks: 6 });
    const fit = runEmByValue(seqs, { prior: 0.3, learn: 0.2, guess: 0.2, slip: 0.1, forget: 0.05 }, o);
    const kicked = kickByValue(seqs, fit, o, makeRandom(TEST_SEED, 'kicks', 0));
    expect(kicked.logLik).toBeGreaterThanOrEqual(fit.logLik);
    // The log-likelihood reported is that of the values returned, which keep fixed parameters and the box.
    const at = eStepByValue(seqs, kicked.values, emptyValueCounts(seqs.sizes), new Float64Array(64));
    expect(at).toBeCloseTo(kicked.logLik, 9);
    expect([...kicked.values.prior].every((p) => p === 0.3)).toBe(true);
    for (const k of ['learn', 'forget', 'guess', 'slip'] as const) {
      expect([...kicked.values[k]].every((p) => p >= 0 && p <= 1)).toBe(true);
    }
    expect(kicked.eSteps).toBeGreaterThanOrEqual(o.kicks);
    // No kicks: the fit itself.
    expect(kickByValue(seqs, fit, makeFitOptions({ ...o, kicks: 0 }), makeRandom(TEST_SEED, 'kicks', 0)).values).toEqual(fit.values);
  });

  it('kicks run from the best restart and count in rowIterations', () => {
    const d = keepVariants(simulateVariants(TRUTH, 300, 12, 37), ['guessSlip']);
    const options = { bounds: { guess: null, slip: null }, fallback: 'none' as const, restarts: 2 };
    const plain = fitDataset(d, { ...options, kicks: 0 });
    const kicked = fitDataset(d, { ...options, kicks: 4 });
    expect(kicked.concepts[0].logLik).toBeGreaterThanOrEqual(plain.concepts[0].logLik);
    expect(kicked.rowIterations).toBeGreaterThan(plain.rowIterations);
  });

  it('recovers per-item guess and slip, per-template learn and forget, per-class prior at 5,000 x 20', () => {
    // One run per restart: this likelihood has one maximum worth finding, and short runs are tested above.
    const fit = fitDataset(data, { fitForget: true, fallback: 'none', bounds: { guess: null, slip: null }, tol: 1e-9, maxIterations: 500, shortRuns: 1, kicks: 0 });
    const pv = fit.concepts[0].perValue!;
    expect(pv.guessSlip!.column).toBe('item_id');
    pv.guessSlip!.values.forEach((v) => {
      const truth = TRUTH.items[Number(v.value.slice(1))];
      expect(Math.abs(v.guess - truth.guess)).toBeLessThan(0.03);
      expect(Math.abs(v.slip - truth.slip)).toBeLessThan(0.03);
    });
    pv.learn!.values.forEach((v) => {
      const truth = TRUTH.templates[Number(v.value.slice(1))];
      expect(Math.abs(v.learn - truth.learn)).toBeLessThan(0.03);
      expect(Math.abs(v.forget - truth.forget)).toBeLessThan(0.03);
    });
    pv.prior!.values.forEach((v) => expect(Math.abs(v.prior - TRUTH.classes[Number(v.value.slice(1))].prior)).toBeLessThan(0.04));
    expect(pv.prior!.values.map((v) => v.sequences)).toEqual([1667, 1667, 1666]);
    expect(pv.guessSlip!.values.reduce((a, v) => a + v.rows, 0)).toBe(100_000);
    // The concept's own values are complete and lie among the per-value ones.
    const own = fit.concepts[0].params;
    expect(own.guess).toBeGreaterThan(0.1);
    expect(own.guess).toBeLessThan(0.3);
    expect(own.prior).toBeGreaterThan(0.2);
    expect(own.prior).toBeLessThan(0.8);
  });

  it('holds fixed parameters and bounds for every value', () => {
    const fit = fitDataset(data, { fixed: { prior: 0.3 }, bounds: { guess: 0.18, slip: 0.09 }, fallback: 'none', restarts: 2 });
    const c = fit.concepts[0];
    expect(c.params.prior).toBe(0.3);
    for (const v of c.perValue!.prior!.values) expect(v.prior).toBe(0.3);
    for (const v of c.perValue!.guessSlip!.values) {
      expect(v.guess).toBeLessThanOrEqual(0.18);
      expect(v.slip).toBeLessThanOrEqual(0.09);
    }
    for (const v of c.perValue!.learn!.values) expect(v.forget).toBe(0);
    expect(c.params.forget).toBe(0);
    expect(c.params.guess).toBeLessThanOrEqual(0.18);
  });

  it('gives the same fit on worker threads as on this thread, kicks included', async () => {
    // Three concepts, so that the workers share the kick units as they share the restarts.
    const small = simulateVariants(TRUTH, 600, 10, 3, 3);
    const options = { restarts: 3, fitForget: true, kicks: 8 };
    const one = fitDataset(small, options);
    // The kicks change the fit, so a kick run differently on a worker would show below.
    const unkicked = fitDataset(small, { ...options, kicks: 0 });
    expect(one.concepts.filter((c, i) => c.logLik > unkicked.concepts[i].logLik).length).toBeGreaterThan(0);
    for (const threads of [2, 3]) {
      const many = await fitDatasetParallel(small, { ...options, threads, minRowsPerThread: 0, callerWorks: false });
      expect(many.concepts).toEqual(one.concepts);
      expect(many.logLik).toBe(one.logLik);
      expect(many.rowIterations).toBe(one.rowIterations);
    }
  });
});

describe('tracing with per-value parameters', () => {
  const perValue: PerValueParams = {
    guessSlip: { column: 'item_id', values: [{ value: 'a', guess: 0.1, slip: 0.2, rows: 1 }, { value: 'b', guess: 0.35, slip: 0.05, rows: 1 }] },
    learn: { column: 'template_id', values: [{ value: 'x', learn: 0.4, forget: 0.1, rows: 1 }] },
    prior: { column: 'class_id', values: [{ value: 'k', prior: 0.7, sequences: 1 }] },
  };
  const own: BktParams = { prior: 0.2, learn: 0.1, guess: 0.25, slip: 0.1, forget: 0 };
  // Two students; values 'c', 'y' and 'j' were not seen in training.
  const items = ['a', 'b', 'c', 'a', 'b', 'a'];
  const templates = ['x', 'y', 'x', 'x', 'x', 'y'];
  const classes = ['k', 'k', 'k', 'j', 'j', 'j'];
  const correct = [1, 0, NO_OBSERVATION, 1, 1, 0];
  const intern = (values: string[], column: string) => {
    const ids = [...new Set(values)];
    return { column, ids, codes: Uint32Array.from(values, (v) => ids.indexOf(v)) };
  };
  const { data } = buildResponseData({
    studentIds: ['s1', 's2'], conceptIds: ['c'], student: Uint32Array.from([0, 0, 0, 1, 1, 1]), concept: new Uint32Array(6),
    correct: Uint8Array.from(correct),
    variants: { guessSlip: intern(items, 'item_id'), learn: intern(templates, 'template_id'), prior: intern(classes, 'class_id') },
  });

  it('equals repeated single updates with each row\'s parameters, and counts unseen values', () => {
    const pCorrect = new Float64Array(6);
    const masteryAfter = new Float64Array(6);
    const unseen = traceMasteryByValue(own, perValue, data, data.variants, { pCorrect, masteryAfter });
    expect(unseen).toEqual({ guessSlip: 1, learn: 2, prior: 1 });
    for (const [first, end] of [[0, 3], [3, 6]]) {
      let state = initialState(paramsForRow(own, perValue, { prior: classes[first] }));
      for (let t = first; t < end; t++) {
        const p = paramsForRow(own, perValue, { guessSlip: items[t], learn: templates[t], prior: classes[first] });
        const u = updateMastery(state, correct[t] === NO_OBSERVATION ? null : correct[t] === 1, p);
        expect(pCorrect[t]).toBeCloseTo(u.pCorrect, 14);
        expect(masteryAfter[t]).toBeCloseTo(u.masteryAfter, 14);
        state = u.state;
      }
    }
    expect(initialState(paramsForRow(own, perValue, { prior: 'k' })).known).toBe(0.7);
  });

  it('refuses per-value parameters for a column the rows do not carry', () => {
    expect(() => traceMasteryByValue(own, perValue, data, { guessSlip: data.variants!.guessSlip }, {})).toThrow(/perValue.learn/);
  });
});
