/**
 * bench/local-maxima: whether raw fits (no bounds, no fallback) of each model variant on the shared items file are
 * true maxima, and the best ones a much wider search finds. Per variant and concept it prints:
 * - `5 restarts`: the log-likelihood of the default raw fit (`bkt fit --bounds none --fallback none` with the
 *   variant's options: 5 restarts, seed 0, at most 100 iterations, tol 1e-6, and for the variants 10 short runs per
 *   restart and 20 kicks from the best restart);
 * - `EM step`: what one more EM iteration from it gains (a fixed point gains about 0; the stopping rule allows
 *   tol * rows);
 * - `run on`: the same fit continued by EM to tol 1e-10 (at most 20,000 iterations): the maximum it stopped short of;
 * - `wide`: the best of WIDE_RESTARTS restarts with seed 1 (other starting points) and no kicks (`--kicks 0`),
 *   continued the same way, and
 *   `gap` = wide - run on (> 0: the 5 restarts missed a better maximum by that much; < 0: they found a better one);
 * - `plain`: the same with one short run per restart (`--short-runs 1 --kicks 0`: each restart one EM run from one
 *   start, as pyBKT's), and `gap plain` = plain - run on;
 * - `|grad|`: the largest |d LL / d logit p| over free interior parameters at the default fit and after running on
 *   (exact, from one E-step by Fisher's identity: bench/support/maxima.ts; on the logit scale it is the expected
 *   count that one EM step would move, and stays finite as a parameter creeps towards 0 or 1);
 * - `bound`: parameters on a bound (1e-6 or 1 - 1e-6) after running on, and in brackets how many the gradient would
 *   push back into the box (0 at a maximum in the box).
 * A second table follows the wider search restart by restart: for each N in CURVE, the best of the first N restarts
 * with seed 1 (chosen as `bkt fit` chooses, by the log-likelihood where each stopped), run on, and its E-steps in
 * units of the default fit's.
 * For the standard model the last column is pyBKT's training log-likelihood on the same rows
 * (../shared/data/golden/pybkt_fit_summary.json, assist2009_pybkt_subset: 5 restarts, seed 42).
 * Run: npm run bench:local-maxima   (WIDE_RESTARTS, default 50; figures are printed, never asserted)
 */
import { existsSync, readFileSync } from 'node:fs';
import { DEFAULT_FIT_OPTIONS, fitDataset, makeFitOptions, type ResponseData } from '../src/bkt/index.js';
import { type RestartOutcome, runUnit } from '../src/bkt/fit.js';
import { kickByValue } from '../src/bkt/em-variants.js';
import { kickRandom } from '../src/bkt/restarts.js';
import { valueSequences } from '../src/bkt/fit-variants.js';
import { loadResponseData } from '../src/cli/load.js';
import { makeProgress } from '../src/cli/progress.js';
import { dataPath } from '../test/support/data.js';
import { checkMaximum, modelOf, type ParamName, polish } from './support/maxima.js';

const FILE = 'assist2009_pybkt_subset_items.csv';
const WIDE_RESTARTS = Number(process.env.WIDE_RESTARTS ?? 50);
const CURVE = [5, 10, 20, WIDE_RESTARTS].filter((n, i, a) => n <= WIDE_RESTARTS && a.indexOf(n) === i);
const RAW = { bounds: { guess: null, slip: null }, fallback: 'none' as const };

/** name, multigs, multilearn, multiprior, fit forget. */
const VARIANTS = [
  ['standard', null, null, null, false],
  ['forget', null, null, null, true],
  ['multigs item_id', 'item_id', null, null, false],
  ['multigs template_id', 'template_id', null, null, false],
  ['multilearn template_id', null, 'template_id', null, false],
  ['multilearn template_id, forget', null, 'template_id', null, true],
  ['multiprior class_id', null, null, 'class_id', false],
  ['multigs template_id, multilearn template_id', 'template_id', 'template_id', null, false],
  ['all three', 'item_id', 'template_id', 'class_id', false],
  ['all three, forget', 'item_id', 'template_id', 'class_id', true],
] as const;

const golden = dataPath('golden/pybkt_fit_summary.json');
const pybkt: Record<string, { training_loglik: number }> = existsSync(golden)
  ? JSON.parse(readFileSync(golden, 'utf8')).assist2009_pybkt_subset.per_concept
  : {};

const columns = { student: 'student_id', concept: 'concept_id', correct: 'correct', order: 'order_id' };
const load = async (gs: string | null, learn: string | null, prior: string | null): Promise<ResponseData> =>
  (await loadResponseData(dataPath(FILE), columns, makeProgress(), { columns: { guessSlip: gs, learn, prior }, fitting: true })).data;

const f = (x: number, d = 3) => x.toFixed(d);
const e = (x: number) => x.toExponential(1);
console.log(`${FILE}: raw fits (bounds none, fallback none); wide = best of ${WIDE_RESTARTS} restarts with seed 1; run on = EM to tol 1e-10`);
console.log('model | concept | rows | params | 5 restarts | EM step | run on | wide | gap | plain | gap plain | |grad| 5 restarts | |grad| run on | bound (pushed in) | pyBKT');
const curveRows: string[] = [];
const gaps: number[] = [];
const plainGaps: number[] = [];
for (const [name, gs, learn, prior, fitForget] of VARIANTS) {
  const data = await load(gs, learn, prior);
  const o = makeFitOptions({ ...RAW, fitForget });
  const tight = makeFitOptions({ ...RAW, fitForget, tol: 1e-10, maxIterations: 20_000 });
  const fit = fitDataset(data, o);
  const wideO = makeFitOptions({ ...RAW, fitForget, restarts: WIDE_RESTARTS, seed: 1, kicks: 0 });
  const wide = fitDataset(data, wideO);
  const plain = fitDataset(data, makeFitOptions({ ...RAW, fitForget, restarts: WIDE_RESTARTS, seed: 1, shortRuns: 1, kicks: 0 }));
  const names: ParamName[] = ['prior', 'learn', 'guess', 'slip', ...(fitForget ? (['forget'] as const) : [])];
  for (let c = 0; c < data.conceptIds.length; c++) {
    const mine = fit.concepts[c];
    const seqs = valueSequences(data, c);
    const at = checkMaximum(seqs, modelOf(mine), names, o);
    const on = polish(seqs, modelOf(mine), tight, mine.responses);
    const onAt = checkMaximum(seqs, on.model, names, tight);
    const wideOn = polish(seqs, modelOf(wide.concepts[c]), tight, mine.responses);
    const gap = wideOn.logLik - on.logLik;
    gaps.push(gap);
    curveRows.push(searchCurve(data, c, wideO, on.logLik, name, mine.conceptId, tight));
    const plainOn = polish(seqs, modelOf(plain.concepts[c]), tight, mine.responses);
    plainGaps.push(plainOn.logLik - on.logLik);
    const ref = name === 'standard' ? pybkt[mine.conceptId]?.training_loglik : undefined;
    console.log([
      name, mine.conceptId, mine.responses, at.interior + at.onBound, f(mine.logLik), e(at.emStepGain), f(on.logLik), f(wideOn.logLik),
      f(gap), f(plainOn.logLik), f(plainOn.logLik - on.logLik), e(at.maxInteriorGradient), e(onAt.maxInteriorGradient), `${onAt.onBound} (${onAt.boundViolations})`,
      ref === undefined ? '-' : f(ref),
    ].join(' | '));
  }
}
console.log(`\nbest of N restarts with seed 1 and no kicks, run on (cost: their E-steps / the default fit's)`);
console.log(`model | concept | default, run on | kicks' E-steps (of the 5 restarts') | ${CURVE.map((n) => `best of ${n} | cost`).join(' | ')}`);
for (const row of curveRows) console.log(row);
console.log(`largest gap (wide - run on): ${f(Math.max(...gaps))}; largest gap plain (plain - run on): ${f(Math.max(...plainGaps))}`);

/**
 * The wider search restart by restart: the best of its first N restarts, for each N in CURVE, run on; costs in
 * E-steps over those of the default fit (its 5 restarts and, with variants, its kicks).
 */
function searchCurve(data: ResponseData, c: number, o: ReturnType<typeof makeFitOptions>, mineOn: number, name: string, concept: string, tight: ReturnType<typeof makeFitOptions>): string {
  const seqs = valueSequences(data, c);
  const rows = seqs.offsets[seqs.offsets.length - 1] - seqs.offsets[0];
  const unit = (r: number, ro: typeof o) => runUnit(data, { concept: c, restart: r, rows }, ro);
  const steps = (x: RestartOutcome) => x.eSteps ?? x.iterations + 1;
  const pick = (a: RestartOutcome, b: RestartOutcome) => (b.logLik > a.logLik ? b : a);
  const mineO = makeFitOptions({ ...o, seed: 0, restarts: 5, kicks: DEFAULT_FIT_OPTIONS.kicks });
  const fives = Array.from({ length: 5 }, (_, r) => unit(r, mineO));
  const restartSteps = fives.reduce((n, x) => n + steps(x), 0);
  const best5 = fives.reduce(pick);
  const kickSteps = best5.values ? kickByValue(seqs, { ...best5, values: best5.values, eSteps: 0 }, mineO, kickRandom(mineO, concept)).eSteps : 0;
  const base = restartSteps + kickSteps;
  const cells: string[] = [];
  let best: RestartOutcome | undefined;
  let spent = 0;
  for (let r = 0; r < o.restarts; r++) {
    const x = unit(r, o);
    spent += steps(x);
    best = best ? pick(best, x) : x;
    if (!CURVE.includes(r + 1)) continue;
    const m = best.values ?? modelOf({ params: best.params } as never);
    cells.push(f(polish(seqs, m, tight, rows).logLik), `${(spent / base).toFixed(1)}x`);
  }
  return [name, concept, f(mineOn), `${(100 * kickSteps / restartSteps).toFixed(0)}%`, ...cells].join(' | ');
}
