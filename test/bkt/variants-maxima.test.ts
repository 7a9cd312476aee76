/**
 * Raw fits (no bounds, no fallback) of every variant on the shared items file are true local maxima: one more EM
 * step from the result gains nothing beyond the convergence tolerance, and a small step in every coordinate, up or
 * down, does not raise the log-likelihood. The file is read in place; without ../shared the tests are skipped.
 */
import { describe, expect, it } from 'vitest';
import { type ConceptFit, fitDataset, makeFitOptions, type ResponseData } from '../../src/bkt/index.js';
import { emptyValueCounts, eStepByValue, mStepByValue, type ValueModel, type ValueSequences } from '../../src/bkt/em-variants.js';
import { valueSequences } from '../../src/bkt/fit-variants.js';
import { PARAM_FLOOR } from '../../src/bkt/options.js';
import { loadResponseData } from '../../src/cli/load.js';
import { makeProgress } from '../../src/cli/progress.js';
import { dataPath, hasData } from '../support/data.js';

const FILE = 'assist2009_pybkt_subset_items.csv';
const present = hasData(FILE);
if (!present) console.log(`skipped: ../shared/data/${FILE} is absent`);

/**
 * Raw options, run to a tight tolerance: the default (gain per iteration <= 1e-6 * rows) stops EM within about
 * 0.003 of the maximum on this file, which a step of 1e-3 in one coordinate can still find.
 */
const RAW = { bounds: { guess: null, slip: null }, fallback: 'none' as const, tol: 1e-10, maxIterations: 5000 };

/** The fitted per-value parameters as the EM's arrays (a variant not fitted holds the concept's own value). */
function modelOf(c: ConceptFit): ValueModel {
  const pv = c.perValue ?? {};
  const p = c.params;
  const arr = <T>(values: readonly T[] | undefined, pick: (v: T) => number, own: number) =>
    values ? Float64Array.from(values, pick) : Float64Array.of(own);
  return {
    prior: arr(pv.prior?.values, (v) => v.prior, p.prior),
    learn: arr(pv.learn?.values, (v) => v.learn, p.learn),
    forget: arr(pv.learn?.values, (v) => v.forget, p.forget),
    guess: arr(pv.guessSlip?.values, (v) => v.guess, p.guess),
    slip: arr(pv.guessSlip?.values, (v) => v.slip, p.slip),
  };
}

function logLik(seqs: ValueSequences, m: ValueModel): number {
  return eStepByValue(seqs, m, emptyValueCounts(seqs.sizes), new Float64Array(2 * 4096));
}

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

describe.skipIf(!present)('raw fits of the variants on the items file are local maxima', async () => {
  const columns = { student: 'student_id', concept: 'concept_id', correct: 'correct', order: 'order_id' };
  const load = (gs: string | null, learn: string | null, prior: string | null): Promise<ResponseData> =>
    present
      ? loadResponseData(dataPath(FILE), columns, makeProgress(), { columns: { guessSlip: gs, learn, prior }, fitting: true }).then((l) => l.data)
      : Promise.resolve(undefined as never);

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
