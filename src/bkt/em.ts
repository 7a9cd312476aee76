/**
 * Baum-Welch (EM) for one concept's two-state BKT model, over the flat sequence arrays.
 *
 * The loop is E-step (expected counts and log-likelihood under the current parameters), M-step (the counts'
 * maximiser, clipped to the allowed box), convergence check. Clipping is the exact constrained maximiser
 * because the expected complete-data log-likelihood splits into one Bernoulli term per parameter, each concave
 * with its maximum at count ratio: so the log-likelihood never decreases from one iteration to the next.
 */
import type { BktParams } from './params.js';
import { type FitOptions, PARAM_FLOOR, upperLimit } from './options.js';
import type { SequenceSet } from './trace.js';

/** Expected sufficient statistics of one E-step. */
export interface Counts {
  /** Sum over sequences of P(known at the first row). */
  priorNum: number;
  sequences: number;
  /** Expected unknown -> known transitions, and expected time spent unknown before a transition. */
  learnNum: number;
  learnDen: number;
  /** Expected known -> unknown transitions, and expected time spent known before a transition. */
  forgetNum: number;
  forgetDen: number;
  /** Expected correct answers while unknown, and expected rows while unknown. */
  guessNum: number;
  guessDen: number;
  /** Expected wrong answers while known, and expected rows while known. */
  slipNum: number;
  slipDen: number;
  /** The likelihood of the responses is scale * 2^(-FOLD_BITS * folds) (see eStep). */
  scale: number;
  folds: number;
}

export function emptyCounts(): Counts {
  return {
    priorNum: 0, sequences: 0, learnNum: 0, learnDen: 0, forgetNum: 0,
    forgetDen: 0, guessNum: 0, guessDen: 0, slipNum: 0, slipDen: 0, scale: 1, folds: 0,
  };
}

/**
 * A running product that falls below 2^-FOLD_BITS is multiplied by 2^FOLD_BITS and the fold counted: exact (a power
 * of two only moves the exponent), no division and no log per row. Both running products (within a sequence, and
 * across sequences) stay above 2^-FOLD_BITS, so their product stays above 2^-900 and never reaches float64's
 * subnormal range.
 */
const FOLD_BITS = 450;
export const FOLD_BELOW = 2 ** -FOLD_BITS;
export const FOLD_UP = 2 ** FOLD_BITS;
export const LOG_FOLD = FOLD_BITS * Math.LN2;

/** Longest sequence in the set: the size of the forward buffer. */
export function maxSequenceLength(seqs: SequenceSet): number {
  const { offsets } = seqs;
  let longest = 0;
  for (let s = 0; s + 1 < offsets.length; s++) longest = Math.max(longest, offsets[s + 1] - offsets[s]);
  return longest;
}

/**
 * Scaled forward-backward over every sequence. Fills `counts` (reset first) and returns the exact log-likelihood
 * of the responses under `p`. `alpha` is scratch of at least 2 * the longest sequence.
 */
export function eStep(seqs: SequenceSet, p: BktParams, counts: Counts, alpha: Float64Array): number {
  if (!warm) warmUp();
  forwardBackward(seqs, p, counts, alpha);
  return Math.log(counts.scale) - counts.folds * LOG_FOLD;
}

/**
 * A first call of forwardBackward on a few rows that go through every branch, before any real data. V8 compiles
 * a long-running loop on stack replacement while the function's first call is still inside it; any statement that
 * has not run by then (the stores after the loops, a fold the first sequences never need) has no type feedback, and
 * the compiled loops bail out to the interpreter when they reach it, on every later call too, since that compiled
 * code stays cached. Measured on assist2009: hundreds of such bailouts per fit, and a fresh process fitting about
 * 1.5x slower than a warm one. Running the function to its end once on a tiny input first leaves no such statement.
 */
let warm = false;
function warmUp(): void {
  warm = true;
  // Prior 0 and learn 0 keep every sequence unknown, so each correct answer multiplies the likelihood by guess
  // (2^-20): 30 rows fold within a sequence, forward and backward; four of 10 rows fold the running product
  // across sequences. An empty and a one-row sequence take the other early paths.
  // The last sequence holds wrong answers and steps with no observation.
  const lengths = [0, 1, 30, 10, 10, 10, 10, 4];
  const offsets = new Uint32Array(lengths.length + 1);
  lengths.forEach((n, i) => (offsets[i + 1] = offsets[i] + n));
  const responses = new Uint8Array(offsets[lengths.length]).fill(1);
  responses.set([0, 2, 0, 2], offsets[lengths.length - 1]);
  const params = { prior: 0, learn: 0, guess: 2 ** -20, slip: 0.5, forget: 0 };
  forwardBackward({ responses, offsets }, params, emptyCounts(), new Float64Array(60));
}

/** The loops of eStep, which leave the likelihood as counts.scale and counts.folds (the caller takes the one log). */
function forwardBackward(seqs: SequenceSet, p: BktParams, counts: Counts, alpha: Float64Array): void {
  const { responses, offsets } = seqs;
  const { prior, learn, guess, slip, forget } = p;
  const stay = 1 - forget;
  const miss = 1 - learn;
  // Emission probabilities as seen * ((value at a wrong answer) + cor * (change at a correct one)) + (1 - seen),
  // with seen = 0 for NO_OBSERVATION (2) and cor = o & 1: no branch per row, which matters because answers are
  // close to random from the branch predictor's point of view. For an observed row the added term is an exact 0.
  const eK0 = slip;
  const eKd = 1 - 2 * slip;
  const eU0 = 1 - guess;
  const eUd = 2 * guess - 1;
  let priorNum = 0, learnNum = 0, learnDen = 0, forgetNum = 0, forgetDen = 0;
  let knownDen = 0, unknownDen = 0, knownCorrect = 0, unknownCorrect = 0;
  let folds = 0;
  let scale = 1;
  let sequences = 0;
  const nSeq = offsets.length - 1;
  for (let s = 0; s < nSeq; s++) {
    const start = offsets[s];
    const len = offsets[s + 1] - start;
    if (len === 0) continue;
    sequences++;
    // Forward, unnormalised (no division per row): the pair is rescaled only when it gets small, and the
    // scale taken out is added to the log-likelihood then. Each xi below is normalised by its own sum, so
    // the scale of alpha at any row does not matter to the counts.
    let known = prior;
    let unknown = 1 - prior;
    for (let t = 0; t < len; t++) {
      const o = responses[start + t];
      const seen = 1 - (o >> 1);
      const cor = o & 1;
      const aK = known * (seen * (eK0 + cor * eKd) + (1 - seen));
      const aU = unknown * (seen * (eU0 + cor * eUd) + (1 - seen));
      alpha[2 * t] = aK;
      alpha[2 * t + 1] = aU;
      known = aK * stay + aU * learn;
      unknown = aK * forget + aU * miss;
      if (known + unknown < FOLD_BELOW) {
        known *= FOLD_UP;
        unknown *= FOLD_UP;
        folds++;
      }
    }
    // The transition keeps the total, so it is P(this sequence's answers) up to the scales taken out.
    scale *= known + unknown;
    if (scale < FOLD_BELOW) {
      scale *= FOLD_UP;
      folds++;
    }
    // Backward: gamma and xi normalised per step by their own sum; beta only rescaled when it gets small.
    const lastK = alpha[2 * (len - 1)];
    const lastU = alpha[2 * (len - 1) + 1];
    let gK = lastK / (lastK + lastU);
    let gU = lastU / (lastK + lastU);
    let o = responses[start + len - 1];
    let seen = 1 - (o >> 1);
    let cor = o & 1;
    knownDen += seen * gK;
    unknownDen += seen * gU;
    knownCorrect += cor * gK;
    unknownCorrect += cor * gU;
    let bK = 1;
    let bU = 1;
    for (let t = len - 2; t >= 0; t--) {
      const wK = bK * (seen * (eK0 + cor * eKd) + (1 - seen));
      const wU = bU * (seen * (eU0 + cor * eUd) + (1 - seen));
      const aK = alpha[2 * t];
      const aU = alpha[2 * t + 1];
      const xKK = aK * stay * wK;
      const xKU = aK * forget * wU;
      const xUK = aU * learn * wK;
      const xUU = aU * miss * wU;
      const inv = 1 / (xKK + xKU + xUK + xUU);
      gK = (xKK + xKU) * inv;
      gU = (xUK + xUU) * inv;
      learnNum += xUK * inv;
      learnDen += gU;
      forgetNum += xKU * inv;
      forgetDen += gK;
      o = responses[start + t];
      seen = 1 - (o >> 1);
      cor = o & 1;
      knownDen += seen * gK;
      unknownDen += seen * gU;
      knownCorrect += cor * gK;
      unknownCorrect += cor * gU;
      bK = stay * wK + forget * wU;
      bU = learn * wK + miss * wU;
      if (bK + bU < FOLD_BELOW) {
        const r = 1 / (bK + bU);
        bK *= r;
        bU *= r;
      }
    }
    priorNum += gK;
  }
  counts.scale = scale;
  counts.folds = folds;
  counts.priorNum = priorNum;
  counts.sequences = sequences;
  counts.learnNum = learnNum;
  counts.learnDen = learnDen;
  counts.forgetNum = forgetNum;
  counts.forgetDen = forgetDen;
  counts.guessNum = unknownCorrect;
  counts.guessDen = unknownDen;
  counts.slipNum = knownDen - knownCorrect;
  counts.slipDen = knownDen;
}

export function clip(v: number, hi: number): number {
  return v < PARAM_FLOOR ? PARAM_FLOOR : v > hi ? hi : v;
}

/** The ratio num/den clipped to [floor, hi]; the previous value when den is 0 (nothing to learn from). */
export function ratio(num: number, den: number, previous: number, hi: number): number {
  return den > 0 ? clip(num / den, hi) : previous;
}

/** Maximiser of the expected complete-data log-likelihood, within the box and with fixed parameters kept. */
export function mStep(c: Counts, prev: BktParams, o: FitOptions): BktParams {
  const top = 1 - PARAM_FLOOR;
  const f = o.fixed;
  return {
    prior: f.prior ?? ratio(c.priorNum, c.sequences, prev.prior, top),
    learn: f.learn ?? ratio(c.learnNum, c.learnDen, prev.learn, top),
    guess: f.guess ?? ratio(c.guessNum, c.guessDen, prev.guess, upperLimit(o, 'guess')),
    slip: f.slip ?? ratio(c.slipNum, c.slipDen, prev.slip, upperLimit(o, 'slip')),
    forget: f.forget ?? (o.fitForget ? ratio(c.forgetNum, c.forgetDen, prev.forget, top) : 0),
  };
}

/** Puts a starting point inside the box the M-step keeps to, with fixed parameters applied. */
export function projectStart(start: BktParams, o: FitOptions): BktParams {
  const top = 1 - PARAM_FLOOR;
  const f = o.fixed;
  return {
    prior: f.prior ?? clip(start.prior, top),
    learn: f.learn ?? clip(start.learn, top),
    guess: f.guess ?? clip(start.guess, upperLimit(o, 'guess')),
    slip: f.slip ?? clip(start.slip, upperLimit(o, 'slip')),
    forget: f.forget ?? (o.fitForget ? clip(start.forget, top) : 0),
  };
}

export interface EmResult {
  readonly params: BktParams;
  /** Log-likelihood of the responses under `params` exactly (the value of the last E-step at them). */
  readonly logLik: number;
  /** M-steps taken. */
  readonly iterations: number;
  /** Stopped by the gain test rather than by maxIterations. */
  readonly converged: boolean;
  /** Log-likelihood after each E-step, when asked for. */
  readonly history?: number[];
}

export function countRows(seqs: SequenceSet): number {
  const { offsets } = seqs;
  return offsets.length > 0 ? offsets[offsets.length - 1] - offsets[0] : 0;
}

/**
 * EM from one starting point. Stops when an iteration gains at most tol * responses (or nothing), or after
 * maxIterations M-steps. Returns the best parameters seen with their exact log-likelihood.
 */
export function runEm(
  seqs: SequenceSet,
  start: BktParams,
  o: FitOptions,
  scratch?: { alpha?: Float64Array; history?: boolean },
): EmResult {
  const need = 2 * maxSequenceLength(seqs);
  const alpha = scratch?.alpha && scratch.alpha.length >= need ? scratch.alpha : new Float64Array(need);
  const history: number[] | undefined = scratch?.history ? [] : undefined;
  const minGain = o.tol * countRows(seqs);
  const counts = emptyCounts();

  let params = projectStart(start, o);
  let logLik = eStep(seqs, params, counts, alpha);
  history?.push(logLik);
  let iterations = 0;
  let converged = false;
  while (iterations < o.maxIterations) {
    const next = mStep(counts, params, o);
    iterations++;
    const nextLogLik = eStep(seqs, next, counts, alpha);
    history?.push(nextLogLik);
    const gain = nextLogLik - logLik;
    if (gain > 0) {
      params = next;
      logLik = nextLogLik;
    }
    if (gain <= minGain) {
      converged = true;
      break;
    }
  }
  return history ? { params, logLik, iterations, converged, history } : { params, logLik, iterations, converged };
}

/** Exact log-likelihood of the responses under fixed parameters. */
export function logLikelihood(seqs: SequenceSet, params: BktParams): number {
  return eStep(seqs, params, emptyCounts(), new Float64Array(2 * maxSequenceLength(seqs)));
}
