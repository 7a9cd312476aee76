/** EM fitting: monotone log-likelihood, recovery of known parameters, options, flags and determinism. */
import { describe, expect, it } from 'vitest';
import { type BktParams, conceptSequences, DEFAULT_PARAMS, fitDataset, makeFitOptions, initialState, logLikelihood, updateMastery } from '../src/bkt/index.js';
import { runEm } from '../src/bkt/em.js';
import { degeneracyReasons } from '../src/bkt/quality.js';
import { makeRandom, restartStart } from '../src/bkt/restarts.js';
import { fitDatasetParallel } from '../src/fitting/parallel.js';
import { loadResponses } from './support/load.js';
import { simulate } from './support/simulate.js';
import { standardErrors } from './support/standard-errors.js';
import { TEST_SEED } from './support/seed.js';

describe('EM on real data', () => {
  const data = loadResponses('ct_pybkt.csv');

  it.each([
    ['bounded', {}],
    ['unbounded', { bounds: { guess: null, slip: null } }],
    ['with forget', { fitForget: true }],
  ])('the log-likelihood never falls by more than 1e-9 relative between iterations (%s)', (_, extra) => {
    const o = makeFitOptions({ ...extra, tol: 0, maxIterations: 60 });
    let checked = 0;
    for (let c = 0; c < data.conceptIds.length; c++) {
      for (let r = 0; r < 3; r++) {
        const em = runEm(conceptSequences(data, c), restartStart(o, data.conceptIds[c], r), o, { history: true });
        const h = em.history!;
        for (let i = 1; i < h.length; i++) {
          expect(h[i] - h[i - 1]).toBeGreaterThanOrEqual(-1e-9 * Math.abs(h[i - 1]));
          checked++;
        }
        expect(em.logLik).toBe(Math.max(...h));
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('stops at maxIterations and says it did not converge', () => {
    const em = runEm(conceptSequences(data, 0), DEFAULT_PARAMS, makeFitOptions({ maxIterations: 2, tol: 0 }));
    expect(em.iterations).toBe(2);
    expect(em.converged).toBe(false);
  });

  it('keeps a fixed parameter and clips to the bounds', () => {
    const fit = fitDataset(data, { fixed: { prior: 0.1 }, bounds: { guess: 0.2, slip: 0.15 }, fallback: 'none' });
    for (const c of fit.concepts) {
      expect(c.params.prior).toBe(0.1);
      expect(c.params.guess).toBeLessThanOrEqual(0.2);
      expect(c.params.slip).toBeLessThanOrEqual(0.15);
      expect(c.params.forget).toBe(0);
    }
  });

  it('does not depend on concept order (restarts are seeded by concept id)', () => {
    const a = fitDataset(data, { restarts: 3, seed: 7 });
    const reversed = { ...data, conceptIds: [...data.conceptIds].reverse() };
    // Same sequences, with ids swapped: concept i now carries the id of concept n-1-i, so its draws change ...
    const b = fitDataset(reversed, { restarts: 3, seed: 7 });
    expect(b.concepts.map((c) => c.conceptId)).toEqual([...a.concepts.map((c) => c.conceptId)].reverse());
    // ... while a concept's own starting points depend only on (seed, id, restart).
    const o = makeFitOptions({ seed: 7 });
    expect(restartStart(o, 'x', 2)).toEqual(restartStart(o, 'x', 2));
    expect(restartStart(o, 'x', 2)).not.toEqual(restartStart(o, 'y', 2));
    expect(restartStart(o, 'x', 0)).toEqual(DEFAULT_PARAMS);
  });

  it('gives the same result on 2 worker threads as on this thread', async () => {
    const options = { restarts: 3, pooledRestarts: 2, seed: 3, fitForget: true };
    const serial = fitDataset(data, options);
    let progressCalls = 0;
    const parallel = await fitDatasetParallel(data, { ...options, threads: 2, minRowsPerThread: 0, callerWorks: false, onProgress: () => progressCalls++ });
    expect(parallel).toEqual(serial);
    expect(progressCalls).toBe(data.conceptIds.length * 3 + 2); // every unit, pooled fallback included
  });
});

describe('EM on simulated data', () => {
  // Estimates scatter around the truth by the data's own precision (a prior's standard error here is 0.005-0.01), so a
  // fixed tolerance would fail now and then on a seed that is merely unlucky. Each estimate must lie within 4.5 of its
  // standard errors (observed information; 16 estimates, a false alarm about once in 10,000 runs), and the fit must be
  // at least as likely as the truth, which a maximum-likelihood fit always is.
  it('recovers parameters within 4.5 standard errors from 10,000 students x 10 responses per concept', async () => {
    const rand = makeRandom(TEST_SEED, 'recovery', 0);
    const uniform = (lo: number, hi: number) => lo + (hi - lo) * rand();
    const truth: BktParams[] = Array.from({ length: 4 }, () => ({
      prior: uniform(0.1, 0.6), learn: uniform(0.05, 0.3), guess: uniform(0.1, 0.3), slip: uniform(0.05, 0.15), forget: 0,
    }));
    const data = simulate(truth, 10_000, 10, TEST_SEED);
    const fit = await fitDatasetParallel(data, { fallback: 'none', threads: 2, seed: TEST_SEED % 1000 });
    const free = ['prior', 'learn', 'guess', 'slip'] as const;
    fit.concepts.forEach((c, i) => {
      const seqs = conceptSequences(data, i);
      const se = standardErrors(seqs, c.params, free);
      for (const name of free) {
        const z = (c.params[name] - truth[i][name]) / se[name];
        expect(Math.abs(z), `${c.conceptId}.${name}: truth ${truth[i][name]}, fit ${c.params[name]}, standard error ${se[name]}`)
          .toBeLessThanOrEqual(4.5);
        // At most 0.0097 over 1,200 concepts drawn this way. The bound catches a broken standard error: a huge one would
        // let any estimate pass.
        expect(se[name], `${c.conceptId}.${name}: standard error`).toBeLessThan(0.015);
      }
      expect(c.params.forget).toBe(0);
      // EM stops once an iteration gains at most tol x responses (0.1 here), a little short of the maximum.
      expect(c.logLik, `${c.conceptId}: log-likelihood of the fit against the truth's`).toBeGreaterThanOrEqual(logLikelihood(seqs, truth[i]) - 1);
      expect(c.converged).toBe(true);
      expect(c.flags.few_data).toBe(false);
    });
  });

  it('keeps learn when there is no transition to learn from (all sequences of length 1)', () => {
    const data = simulate([{ ...DEFAULT_PARAMS, prior: 0.5 }], 400, 1, 1);
    const fit = fitDataset(data, { fallback: 'none', restarts: 1 });
    expect(fit.concepts[0].params.learn).toBe(DEFAULT_PARAMS.learn);
    expect(fit.concepts[0].flags.few_data).toBe(true); // no sequence of length >= 2
  });
});

describe('flags and fallback', () => {
  it('marks a concept with too little data as few_data and uses the pooled fallback for it', () => {
    const data = simulate([DEFAULT_PARAMS, DEFAULT_PARAMS], 20, 5, 2);
    const fit = fitDataset(data);
    expect(fit.concepts.every((c) => c.flags.few_data && c.use === 'fallback')).toBe(true);
    expect(fit.fallback.source).toBe('pooled');
    expect(fit.fallback.pooled?.students).toBe(20);
  });

  it('flags a model where a correct answer is evidence of not knowing as degenerate, and never uses it', () => {
    // guess + slip >= 1: a correct answer is at least as likely while unknown as while known.
    const data = simulate([DEFAULT_PARAMS], 3000, 8, 4);
    const fixed = { guess: 0.7, slip: 0.4 };
    const raw = fitDataset(data, { bounds: { guess: null, slip: null }, fixed, fallback: 'none', restarts: 1 });
    expect(raw.concepts[0].flags.degenerate).toBe(true);
    expect(raw.concepts[0].flags.reasons.join('; ')).toMatch(/guess \+ slip/);
    expect(raw.concepts[0].use).toBe('fitted'); // raw mode reports it as it is, flags included
    const safe = fitDataset(data, { bounds: { guess: null, slip: null }, fixed, fallback: 'defaults', restarts: 1 });
    expect(safe.concepts[0].use).toBe('fallback');
    expect(safe.fallback.source).toBe('defaults');
    expect(degeneracyReasons(DEFAULT_PARAMS)).toEqual([]);
    // Slow mastery is the policy's concern, not the model's: no degeneracy.
    expect(degeneracyReasons({ prior: 0.01, learn: 0.01, guess: 0.45, slip: 0.3, forget: 0 })).toEqual([]);
  });

  it('reports mastery_unreachable as an advisory when forget keeps P(L) below the threshold, and keeps the fit', () => {
    const data = simulate([{ prior: 0.3, learn: 0.2, guess: 0.2, slip: 0.1, forget: 0.1 }], 3000, 10, 5);
    const fit = fitDataset(data, { fitForget: true, restarts: 2 });
    const c = fit.concepts[0];
    expect(c.params.forget).toBeGreaterThan(0.05);
    expect(c.flags.mastery_unreachable).toBe(true);
    expect(c.flags.degenerate).toBe(false);
    expect(c.use).toBe('fitted');
    expect(c.opportunitiesToMastery).toBeNull();
    expect(c.correctToMastery).toBeNull();
    expect(c.masteryCeiling).toBeLessThan(0.95);
    expect(c.advisories.join()).toMatch(/mastery unreachable: correct answers take P\(L\) at most to 0\.\d+ < threshold 0\.95/);
  });

  it('reports the gap between the best and second-best restart, and the expected opportunities', () => {
    const fit = fitDataset(loadResponses('assist2009_pybkt_subset.csv'), { restarts: 4, fallback: 'none' });
    for (const c of fit.concepts) {
      expect(c.gap).not.toBeNull();
      expect(c.gap!.logLik).toBeGreaterThanOrEqual(0);
      if (c.correctToMastery === null) expect(c.opportunitiesToMastery).toBeNull();
      else expect(c.opportunitiesToMastery).toBeCloseTo((1 - c.params.prior) / c.params.learn, 12);
      expect(c.restarts).toBe(4);
    }
  });
});

describe('the E-step log-likelihood', () => {
  it('equals the sum of log P(answer | earlier answers) from single updates, through long sequences and many of them', () => {
    const random = makeRandom(TEST_SEED, 'log-likelihood', 0);
    // Sequences long enough to fold the forward and backward products many times, and enough of them to fold the
    // running product across sequences; parameters from mild to extreme.
    const lengths = [0, 1, 2, 3000, 700, ...Array.from({ length: 400 }, () => 1 + Math.floor(random() * 60))];
    const offsets = new Uint32Array(lengths.length + 1);
    lengths.forEach((n, i) => (offsets[i + 1] = offsets[i] + n));
    const responses = new Uint8Array(offsets[lengths.length]);
    for (let i = 0; i < responses.length; i++) responses[i] = random() < 0.6 ? 1 : 0;
    const cases: BktParams[] = [
      DEFAULT_PARAMS,
      { prior: 0.5, learn: 0.05, guess: 0.3, slip: 0.2, forget: 0.1 },
      { prior: 0, learn: 0, guess: 1e-6, slip: 0.5, forget: 0 },
      { prior: 1, learn: 1, guess: 0.5, slip: 1e-6, forget: 0.3 },
    ];
    for (const p of cases) {
      let direct = 0;
      for (let s = 0; s < lengths.length; s++) {
        let state = initialState(p);
        for (let t = offsets[s]; t < offsets[s + 1]; t++) {
          const u = updateMastery(state, responses[t] === 1, p);
          direct += Math.log(responses[t] === 1 ? u.pCorrect : 1 - u.pCorrect);
          state = u.state;
        }
      }
      const ll = logLikelihood({ responses, offsets }, p);
      expect(Number.isFinite(ll)).toBe(true);
      expect(Math.abs(ll - direct)).toBeLessThan(1e-9 * Math.abs(direct));
    }
  });
});
