/**
 * Raw fits (no bounds, no fallback) of every variant on the shared items file are true local maxima: one more EM
 * step from the result gains nothing beyond the convergence tolerance, and a small step in every coordinate, up or
 * down, does not raise the log-likelihood. A cheap version of bench/local-maxima.ts checks the default raw fit against
 * a wider search and at first order. The file is read in place; without ../shared the tests are skipped.
 */
import { describe, expect, it } from 'vitest';
import { fitDataset, makeFitOptions, type ResponseData } from '../../src/bkt/index.js';
import { emptyValueCounts, eStepByValue, mStepByValue, type ValueModel, type ValueSequences } from '../../src/bkt/em-variants.js';
import { runUnit } from '../../src/bkt/fit.js';
import { valueSequences } from '../../src/bkt/fit-variants.js';
import { PARAM_FLOOR } from '../../src/bkt/options.js';
import { loadResponseData } from '../../src/cli/load.js';
import { makeProgress } from '../../src/cli/progress.js';
import { dataPath, hasData } from '../support/data.js';
import { checkMaximum, gradient, logLik, modelOf, numericGradient, polish } from '../../bench/support/maxima.js';

const FILE = 'assist2009_pybkt_subset_items.csv';
const present = hasData(FILE);
if (!present) console.log(`skipped: ../shared/data/${FILE} is absent`);

/**
 * Raw options, run to a tight tolerance: the default (gain per iteration <= 1e-6 * rows) stops EM within about
 * 0.003 of the maximum on this file, which a step of 1e-3 in one coordinate can still find.
 */
const RAW = { bounds: { guess: null, slip: null }, fallback: 'none' as const, tol: 1e-10, maxIterations: 5000 };

/** The largest gain from moving one coordinate by +-delta (staying in the allowed box). */
function bestPerturbation(seqs: ValueSequences, m: ValueModel, names: readonly (keyof ValueModel)[], base: number, delta: number) {
  let best = -Infinity;
  let where = '';
  for (const name of names) {
    const a = m[name];
    for (let k = 0; k < a.length; k++) {
      const keep = a[k];
      for (const step of [-delta, delta]) {
        const v = keep + step;
        if (v < PARAM_FLOOR || v > 1 - PARAM_FLOOR) continue;
        a[k] = v;
        const gain = logLik(seqs, m) - base;
        if (gain > best) [best, where] = [gain, `${name}[${k}] ${keep} ${step > 0 ? '+' : '-'} ${delta}`];
      }
      a[k] = keep;
    }
  }
  return { best, where };
}

const columns = { student: 'student_id', concept: 'concept_id', correct: 'correct', order: 'order_id' };
const load = (gs: string | null, learn: string | null, prior: string | null): Promise<ResponseData> =>
  present
    ? loadResponseData(dataPath(FILE), columns, makeProgress(), { columns: { guessSlip: gs, learn, prior }, fitting: true }).then((l) => l.data)
    : Promise.resolve(undefined as never);

describe.skipIf(!present)('raw fits of the variants on the items file are local maxima', async () => {
  it.each([
    ['multigs item_id', ['item_id', null, null], false],
    ['multigs template_id', ['template_id', null, null], false],
    ['multilearn template_id', [null, 'template_id', null], false],
    ['multiprior class_id', [null, null, 'class_id'], false],
    ['multigs item_id, multilearn template_id, multiprior class_id, forget', ['item_id', 'template_id', 'class_id'], true],
  ] as const)('%s', async (_, [gs, learn, prior], fitForget) => {
    const data = await load(gs, learn, prior);
    const o = makeFitOptions({ ...RAW, fitForget });
    const fit = fitDataset(data, o);
    const names: (keyof ValueModel)[] = ['prior', 'learn', 'guess', 'slip', ...(fitForget ? (['forget'] as const) : [])];
    for (let c = 0; c < data.conceptIds.length; c++) {
      const concept = fit.concepts[c];
      const seqs = valueSequences(data, c);
      const m = modelOf(concept);
      const base = logLik(seqs, m);
      expect(base).toBeCloseTo(concept.logLik, 6);
      // One more EM step gains at most what the convergence rule allows.
      const counts = emptyValueCounts(seqs.sizes);
      eStepByValue(seqs, m, counts, new Float64Array(2 * 4096));
      const gain = logLik(seqs, mStepByValue(counts, m, o)) - base;
      expect(gain).toBeLessThanOrEqual(o.tol * concept.responses + 1e-9);
      // No coordinate, moved by 1e-3 either way, raises the log-likelihood by 1e-3 (of about 3,000 here): what is left
      // is a parameter creeping towards its floor, where EM is slowest.
      const { best, where } = bestPerturbation(seqs, m, names, base, 1e-3);
      expect(best, `${concept.conceptId}: ${where}`).toBeLessThan(1e-3);
    }
  });
});

describe.skipIf(!present)('the default raw fit against a wider search (bench/local-maxima.ts, one concept)', () => {
  const RAW_DEFAULT = { bounds: { guess: null, slip: null }, fallback: 'none' as const };
  const names = ['prior', 'learn', 'guess', 'slip'] as const;

  it('multigs item_id: the default fit reaches the best of 50 plain restarts, concept by concept', async () => {
    const data = await load('item_id', null, null);
    const fit = fitDataset(data, RAW_DEFAULT);
    const wide = fitDataset(data, { ...RAW_DEFAULT, shortRuns: 1, kicks: 0, restarts: 50, seed: 1 });
    for (let c = 0; c < data.conceptIds.length; c++) {
      const mine = fit.concepts[c];
      // Within what the stopping rule leaves (an iteration may still gain up to tol * rows).
      const margin = fit.options.tol * mine.responses;
      expect(mine.logLik, mine.conceptId).toBeGreaterThanOrEqual(wide.concepts[c].logLik - margin);
    }
  });

  it.each([
    ['multigs item_id', ['item_id', null, null], false, -2688.314],
    ['all three', ['item_id', 'template_id', 'class_id'], false, -2603.898],
    ['all three, forget', ['item_id', 'template_id', 'class_id'], true, -2572.766],
  ] as const)('%s on Table: the default fit beats the best of 50 restarts without kicks', async (_, [gs, learn, prior], fitForget, wideBest) => {
    // wideBest: bench/local-maxima.ts's best of 50 restarts with seed 1, short runs and no kicks, run on by EM
    // (docs/models.md, "Local maxima").
    const data = await load(gs, learn, prior);
    const c = data.conceptIds.indexOf('Table');
    const seqs = valueSequences(data, c);
    const rows = seqs.offsets[seqs.offsets.length - 1] - seqs.offsets[0];
    const fit = fitDataset(data, { ...RAW_DEFAULT, fitForget });
    expect(fit.concepts[c].logLik).toBeGreaterThan(wideBest);
    // And it stops close to the maximum EM runs on to (the stopping rule allows a gain of tol * rows per iteration).
    const tight = makeFitOptions({ ...RAW_DEFAULT, fitForget, tol: 1e-10, maxIterations: 20_000 });
    const on = polish(seqs, modelOf(fit.concepts[c]), tight, rows);
    expect(on.logLik - fit.concepts[c].logLik).toBeLessThan(0.5);
  });

  it('the gradient from one E-step equals a central difference of the log-likelihood', async () => {
    const data = await load('template_id', 'template_id', null);
    const o = makeFitOptions(RAW_DEFAULT);
    const seqs = valueSequences(data, 0);
    // Away from any maximum (every value at the defaults), where the gradient is far from 0.
    const m = modelOf(fitDataset(data, { ...RAW_DEFAULT, maxIterations: 1, restarts: 1 }).concepts[0]);
    const coords = gradient(seqs, m, names, o).filter((x) => x.den > 0);
    expect(coords.some((x) => Math.abs(x.logitGradient) > 1)).toBe(true);
    for (const x of coords) {
      const h = 1e-6 * Math.min(x.value, 1 - x.value);
      const numeric = numericGradient(seqs, m, x.name, x.k, h);
      expect(Math.abs(numeric - x.gradient), `${x.name}[${x.k}]`).toBeLessThan(1e-4 * Math.max(1, Math.abs(x.gradient)));
    }
  });

  it.each([
    ['multigs template_id', ['template_id', null, null]],
    ['multilearn template_id', [null, 'template_id', null]],
    ['multiprior class_id', [null, null, 'class_id']],
  ] as const)('%s on Box and Whisker: 5 restarts reach the best of 15 others, at a first-order maximum', async (_, [gs, learn, prior]) => {
    const data = await load(gs, learn, prior);
    const c = data.conceptIds.indexOf('Box and Whisker');
    expect(c).toBeGreaterThanOrEqual(0);
    const seqs = valueSequences(data, c);
    const rows = seqs.offsets[seqs.offsets.length - 1] - seqs.offsets[0];
    const o = makeFitOptions(RAW_DEFAULT);
    const tight = makeFitOptions({ ...RAW_DEFAULT, tol: 1e-10, maxIterations: 20_000 });
    const best = (seed: number, restarts: number) => {
      const ro = makeFitOptions({ ...RAW_DEFAULT, seed });
      const outs = Array.from({ length: restarts }, (_, r) => runUnit(data, { concept: c, restart: r, rows }, ro));
      return outs.reduce((a, b) => (b.logLik > a.logLik ? b : a));
    };
    const model = (values: ValueModel | undefined) => values!;
    const mine = best(0, 5);
    // The default stopping rule: one more EM step gains at most tol * rows.
    expect(checkMaximum(seqs, model(mine.values), names, o).emStepGain).toBeLessThanOrEqual(o.tol * rows + 1e-9);
    const on = polish(seqs, model(mine.values), tight, rows);
    const wide = polish(seqs, model(best(1, 15).values), tight, rows);
    expect(wide.logLik - on.logLik).toBeLessThan(0.01);
    // Run on, the fit is a maximum in the box: no interior parameter has a gradient (in expected counts) above 0.05,
    // and no parameter on a bound would be pushed back inside.
    const at = checkMaximum(seqs, on.model, names, tight);
    expect(at.maxInteriorGradient, at.worst).toBeLessThan(0.05);
    expect(at.boundViolations).toBe(0);
    expect(logLik(seqs, on.model)).toBeCloseTo(on.logLik, 9);
  });
});
