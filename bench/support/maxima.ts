/**
 * Checks that a fitted concept is a local maximum of the exact log-likelihood, shared by bench/local-maxima.ts and
 * test/bkt/variants-maxima.test.ts. The gradient comes from one E-step (Fisher's identity: at the current
 * parameters, the gradient of the log-likelihood equals that of EM's expected complete-data log-likelihood, which
 * for each Bernoulli parameter p with expected counts num of den is num / p - (den - num) / (1 - p)). On the logit
 * scale that is num - den * p = den * (EM's update - p): in expected counts, and bounded near 0 and 1, where
 * d/dp grows without limit as EM creeps towards a bound.
 */
import type { ConceptFit, FitOptions } from '../../src/bkt/index.js';
import { emptyValueCounts, eStepByValue, mStepByValue, type ValueCounts, type ValueModel, type ValueSequences } from '../../src/bkt/em-variants.js';
import { maxSequenceLength } from '../../src/bkt/em.js';
import { PARAM_FLOOR, upperLimit } from '../../src/bkt/options.js';

export type ParamName = keyof ValueModel;

/** The fitted per-value parameters as EM's arrays (a variant not fitted holds the concept's own value). */
export function modelOf(c: ConceptFit): ValueModel {
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

const scratch = (seqs: ValueSequences) => new Float64Array(2 * Math.max(1, maxSequenceLength(seqs)));

/** The exact log-likelihood of the sequences under a model. */
export function logLik(seqs: ValueSequences, m: ValueModel): number {
  return eStepByValue(seqs, m, emptyValueCounts(seqs.sizes), scratch(seqs));
}

/** Per parameter and value: the expected counts (num of den) whose ratio is EM's update. */
function bernoulliCounts(c: ValueCounts, name: ParamName, k: number): { num: number; den: number } {
  switch (name) {
    case 'prior': return { num: c.priorNum[k], den: c.sequences[k] };
    case 'learn': return { num: c.learnNum[k], den: c.learnDen[k] };
    case 'forget': return { num: c.forgetNum[k], den: c.forgetDen[k] };
    case 'guess': return { num: c.unknownCorrect[k], den: c.unknownDen[k] };
    case 'slip': return { num: c.knownDen[k] - c.knownCorrect[k], den: c.knownDen[k] };
  }
}

/** One coordinate's place in the box and its gradient. */
export interface Coordinate {
  readonly name: ParamName;
  readonly k: number;
  readonly value: number;
  /** d logLik / d value. */
  readonly gradient: number;
  /** d logLik / d logit(value) = value (1 - value) gradient. */
  readonly logitGradient: number;
  /** Expected count behind the coordinate (0: the value does not touch the likelihood). */
  readonly den: number;
  /** 'interior', or the bound the value sits on. */
  readonly at: 'interior' | 'lower' | 'upper';
}

/** The gradient of every free coordinate at a model, from one E-step. */
export function gradient(seqs: ValueSequences, m: ValueModel, names: readonly ParamName[], o: FitOptions): Coordinate[] {
  const counts = emptyValueCounts(seqs.sizes);
  eStepByValue(seqs, m, counts, scratch(seqs));
  const out: Coordinate[] = [];
  for (const name of names) {
    const hi = name === 'guess' || name === 'slip' ? upperLimit(o, name) : 1 - PARAM_FLOOR;
    for (let k = 0; k < m[name].length; k++) {
      const p = m[name][k];
      const { num, den } = bernoulliCounts(counts, name, k);
      const at = p <= PARAM_FLOOR * (1 + 1e-9) ? 'lower' : p >= hi * (1 - 1e-12) ? 'upper' : 'interior';
      out.push({ name, k, value: p, gradient: num / p - (den - num) / (1 - p), logitGradient: num - den * p, den, at });
    }
  }
  return out;
}

/** The same derivative by a central difference of the exact log-likelihood (a check on `gradient`). */
export function numericGradient(seqs: ValueSequences, m: ValueModel, name: ParamName, k: number, h: number): number {
  const a = m[name];
  const keep = a[k];
  a[k] = keep + h;
  const up = logLik(seqs, m);
  a[k] = keep - h;
  const down = logLik(seqs, m);
  a[k] = keep;
  return (up - down) / (2 * h);
}

/** What a candidate maximum looks like from first order and from EM's own map. */
export interface MaximumCheck {
  readonly logLik: number;
  /** Log-likelihood gained by one more EM iteration from the model. */
  readonly emStepGain: number;
  /** Largest |d logLik / d logit p| over free interior coordinates that touch the likelihood. */
  readonly maxInteriorGradient: number;
  readonly worst: string;
  /** Coordinates on a bound whose gradient points into the box by more than `kktTol` (not a constrained maximum). */
  readonly boundViolations: number;
  readonly interior: number;
  readonly onBound: number;
}

/** First-order conditions (KKT in the box) and the EM fixed point at a model. */
export function checkMaximum(seqs: ValueSequences, m: ValueModel, names: readonly ParamName[], o: FitOptions, kktTol = 1e-6): MaximumCheck {
  const base = logLik(seqs, m);
  const counts = emptyValueCounts(seqs.sizes);
  eStepByValue(seqs, m, counts, scratch(seqs));
  const emStepGain = logLik(seqs, mStepByValue(counts, m, o)) - base;
  let maxInteriorGradient = 0;
  let worst = '';
  let boundViolations = 0;
  let interior = 0;
  let onBound = 0;
  for (const x of gradient(seqs, m, names, o)) {
    if (x.den === 0) continue;
    if (x.at === 'interior') {
      interior++;
      const g = Math.abs(x.logitGradient);
      if (g > maxInteriorGradient) [maxInteriorGradient, worst] = [g, `${x.name}[${x.k}]=${x.value.toPrecision(4)}`];
    } else {
      onBound++;
      // At the lower bound a maximum needs gradient <= 0; at the upper one, >= 0.
      if (x.at === 'lower' ? x.gradient > kktTol : x.gradient < -kktTol) boundViolations++;
    }
  }
  return { logLik: base, emStepGain, maxInteriorGradient, worst, boundViolations, interior, onBound };
}

/** EM continued from a model until an iteration gains at most tol * rows (or maxIterations): the maximum it tends to. */
export function polish(seqs: ValueSequences, m: ValueModel, o: FitOptions, rows: number): { model: ValueModel; logLik: number; iterations: number } {
  const alpha = scratch(seqs);
  let counts = emptyValueCounts(seqs.sizes);
  let ll = eStepByValue(seqs, m, counts, alpha);
  let model = m;
  let iterations = 0;
  while (iterations < o.maxIterations) {
    const next = mStepByValue(counts, model, o);
    const spare = emptyValueCounts(seqs.sizes);
    const nextLl = eStepByValue(seqs, next, spare, alpha);
    iterations++;
    if (!(nextLl > ll)) break;
    const gain = nextLl - ll;
    [model, ll, counts] = [next, nextLl, spare];
    if (gain <= o.tol * rows) break;
  }
  return { model, logLik: ll, iterations };
}
