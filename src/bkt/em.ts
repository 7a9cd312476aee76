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

/**
 * Counts before any E-step. Every field is a double from the start (NaN, then its value): created with small integers,
 * the object would get a map with integer fields that V8 replaces when the E-step stores its first fraction, and
 * compiled code that has seen the new map is dropped ("wrong map") when a counts object of the old one arrives.
 */
export function emptyCounts(): Counts {
  const c: Counts = {
    priorNum: NaN, sequences: NaN, learnNum: NaN, learnDen: NaN, forgetNum: NaN,
    forgetDen: NaN, guessNum: NaN, guessDen: NaN, slipNum: NaN, slipDen: NaN, scale: NaN, folds: NaN,
  };
  return Object.assign(c, NOTHING_COUNTED);
}

const NOTHING_COUNTED: Counts = Object.freeze({
  priorNum: 0, sequences: 0, learnNum: 0, learnDen: 0, forgetNum: 0,
  forgetDen: 0, guessNum: 0, guessDen: 0, slipNum: 0, slipDen: 0, scale: 1, folds: 0,
});

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
  const forget = p.forget !== 0;
  if (!warmed[forget ? 1 : 0]) warmUpKernel(forget);
  fillCoefficients(p);
  if (forget) forwardBackward(seqs, counts, alpha);
  else forwardBackwardNoForget(seqs, counts, alpha);
  return Math.log(counts.scale) - counts.folds * LOG_FOLD;
}

/**
 * Per observed value o (0 wrong, 1 correct, 2 no observation), STRIDE coefficients at o * STRIDE: the emission
 * probabilities (known, unknown), the four products of an emission with a transition that the forward and backward
 * recursions take (so each step's state update is one multiply-add per state, not an emission then a transition),
 * the backward pass's other two, and whether the row is observed and correct as 0 or 1. A table read per row
 * instead of arithmetic on o: the answers are close to random, so a branch on them would be mispredicted.
 */
const STRIDE = 10;
const E_KNOWN = 0;
const E_UNKNOWN = 1;
/** stay * emission(known): known -> known, in both directions. */
const KK = 2;
/** learn * emission(unknown): unknown -> known, forward. */
const UK_FORWARD = 3;
/** forget * emission(known): known -> unknown, forward. */
const KU_FORWARD = 4;
/** (1 - learn) * emission(unknown): unknown -> unknown, in both directions. */
const UU = 5;
/** forget * emission(unknown): known -> unknown, backward. */
const KU_BACKWARD = 6;
/** learn * emission(known): unknown -> known, backward. */
const UK_BACKWARD = 7;
const SEEN = 8;
const CORRECT = 9;
/**
 * After the three rows: P(known) and P(unknown) at a sequence's first row. Read from the table, each sequence starts
 * from two unboxed doubles; passed as an argument (a number that was 0, a small integer, in the warm-up), the prior
 * made V8 box a new heap number per sequence: 2 MB of garbage per E-step on assist2015's 124k sequences.
 */
const PRIOR_KNOWN = 3 * STRIDE;
const PRIOR_UNKNOWN = 3 * STRIDE + 1;
const coefficients = new Float64Array(3 * STRIDE + 2);

function fillCoefficients(p: BktParams): void {
  const { prior, learn, guess, slip, forget } = p;
  const stay = 1 - forget;
  const miss = 1 - learn;
  const t = coefficients;
  t[PRIOR_KNOWN] = prior;
  t[PRIOR_UNKNOWN] = 1 - prior;
  for (let o = 0; o < 3; o++) {
    // NO_OBSERVATION (2): both emissions 1, the row only moves the state on.
    const eK = o === 2 ? 1 : o === 1 ? 1 - slip : slip;
    const eU = o === 2 ? 1 : o === 1 ? guess : 1 - guess;
    const at = o * STRIDE;
    t[at + E_KNOWN] = eK;
    t[at + E_UNKNOWN] = eU;
    t[at + KK] = stay * eK;
    t[at + UK_FORWARD] = learn * eU;
    t[at + KU_FORWARD] = forget * eK;
    t[at + UU] = miss * eU;
    t[at + KU_BACKWARD] = forget * eU;
    t[at + UK_BACKWARD] = learn * eK;
    t[at + SEEN] = o === 2 ? 0 : 1;
    t[at + CORRECT] = o === 1 ? 1 : 0;
  }
}

/**
 * V8 compiles a long-running loop on stack replacement while the function's first call is still inside it; any
 * statement that has not run by then (the stores after the loops, a fold the first sequences never need) has no
 * type feedback, and the compiled loops bail out to the interpreter when they reach it. Feedback is only collected
 * once a function has run for a while (its feedback vector is allocated lazily), and the first calls on a large set
 * run in the interpreter until a compiled version is ready: measured on assist2009's 325k rows, the first two calls
 * at about 100 ns per row instead of 15, and in some runs later calls at twice the steady cost.
 *
 * So a kernel first runs to its end a few hundred times on a few rows that take every branch: it is then compiled
 * for a whole call (not only on stack replacement), on a background thread, from complete feedback. Call
 * warmUpEStep ahead of the first real E-step (for example before a CSV is read) to let that compilation overlap
 * other work; the first eStep of each kernel warms it otherwise. It takes about a millisecond.
 *
 * Only the kernel without forgetting (the default model) is warmed ahead: the other's compilation, on every thread,
 * is CPU time and memory a default fit never uses. A fit with forgetting warms its kernel at its first E-step.
 */
const warmed = [false, false];
export function warmUpEStep(): void {
  warmUpKernel(false);
}

function warmUpKernel(forget: boolean): void {
  const kernel = forget ? 1 : 0;
  if (warmed[kernel]) return;
  warmed[kernel] = true;
  // Learn 0 and a correct answer as unlikely known as unknown (2^-20 each): 30 correct rows fold within a sequence,
  // forward and backward; four of 10 rows fold the running product across sequences. An empty and a one-row
  // sequence take the other early paths.
  // The last sequence holds wrong answers and steps with no observation.
  const lengths = [0, 1, 30, 10, 10, 10, 10, 4];
  const offsets = new Uint32Array(lengths.length + 1);
  lengths.forEach((n, i) => (offsets[i + 1] = offsets[i] + n));
  const responses = new Uint8Array(offsets[lengths.length]).fill(1);
  responses.set([0, 2, 0, 2], offsets[lengths.length - 1]);
  // Two sets with their own arrays, made at two places: compiled code that has seen one object of a shape treats
  // its fields as constants, and is dropped when the first other object of that shape is made.
  const sets: SequenceSet[] = [{ responses, offsets }, { responses: responses.slice(), offsets: offsets.slice() }];
  const alpha = new Float64Array(60);
  const counts = emptyCounts();
  for (let k = 0; k < WARM_UP_CALLS; k++) {
    const seqs = sets[(k >> 1) & 1];
    // Odd calls start the sequences at prior 0.25, so the kernels also see a prior that is not a small integer.
    const prior = k % 2 === 0 ? 0 : 0.25;
    fillCoefficients({ prior, learn: 0, guess: 2 ** -20, slip: 1 - 2 ** -20, forget: forget ? 0.05 : 0 });
    if (forget) forwardBackward(seqs, counts, alpha);
    else forwardBackwardNoForget(seqs, counts, alpha);
  }
}

/**
 * Warm-up calls per kernel: V8 marks the kernel for compilation within them (node --trace-opt) and compiles it on
 * a background thread meanwhile; more calls would only run in the interpreter until it is done.
 */
const WARM_UP_CALLS = 30;

/**
 * The loops of eStep, which leave the likelihood as counts.scale and counts.folds (the caller takes the one log).
 * Reads the coefficients of the current parameters from `coefficients`.
 */
function forwardBackward(seqs: SequenceSet, counts: Counts, alpha: Float64Array): void {
  const { responses, offsets } = seqs;
  const t = coefficients;
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
    let known = t[PRIOR_KNOWN];
    let unknown = t[PRIOR_UNKNOWN];
    for (let i = 0; i < len; i++) {
      const at = responses[start + i] * STRIDE;
      alpha[2 * i] = known * t[at + E_KNOWN];
      alpha[2 * i + 1] = unknown * t[at + E_UNKNOWN];
      const next = known * t[at + KK] + unknown * t[at + UK_FORWARD];
      unknown = known * t[at + KU_FORWARD] + unknown * t[at + UU];
      known = next;
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
    let at = responses[start + len - 1] * STRIDE;
    let seen = t[at + SEEN];
    let cor = t[at + CORRECT];
    knownDen += seen * gK;
    unknownDen += seen * gU;
    knownCorrect += cor * gK;
    unknownCorrect += cor * gU;
    let bK = 1;
    let bU = 1;
    for (let i = len - 2; i >= 0; i--) {
      // The four transitions into row i + 1's state, each times its emission and beta.
      const toKK = bK * t[at + KK];
      const toKU = bU * t[at + KU_BACKWARD];
      const toUK = bK * t[at + UK_BACKWARD];
      const toUU = bU * t[at + UU];
      const aK = alpha[2 * i];
      const aU = alpha[2 * i + 1];
      const xKK = aK * toKK;
      const xKU = aK * toKU;
      const xUK = aU * toUK;
      const xUU = aU * toUU;
      const inv = 1 / (xKK + xKU + xUK + xUU);
      gK = (xKK + xKU) * inv;
      gU = (xUK + xUU) * inv;
      learnNum += xUK * inv;
      learnDen += gU;
      forgetNum += xKU * inv;
      forgetDen += gK;
      at = responses[start + i] * STRIDE;
      seen = t[at + SEEN];
      cor = t[at + CORRECT];
      knownDen += seen * gK;
      unknownDen += seen * gU;
      knownCorrect += cor * gK;
      unknownCorrect += cor * gU;
      bK = toKK + toKU;
      bU = toUK + toUU;
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

/**
 * forwardBackward with forget = 0 (the default model), its known -> unknown terms dropped: every value is the same
 * to the bit (those terms are exact zeros there, stay is exactly 1), with five multiplications fewer per row.
 */
function forwardBackwardNoForget(seqs: SequenceSet, counts: Counts, alpha: Float64Array): void {
  const { responses, offsets } = seqs;
  const t = coefficients;
  let priorNum = 0, learnNum = 0, learnDen = 0, forgetDen = 0;
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
    let known = t[PRIOR_KNOWN];
    let unknown = t[PRIOR_UNKNOWN];
    for (let i = 0; i < len; i++) {
      const at = responses[start + i] * STRIDE;
      alpha[2 * i] = known * t[at + E_KNOWN];
      alpha[2 * i + 1] = unknown * t[at + E_UNKNOWN];
      known = known * t[at + KK] + unknown * t[at + UK_FORWARD];
      unknown *= t[at + UU];
      if (known + unknown < FOLD_BELOW) {
        known *= FOLD_UP;
        unknown *= FOLD_UP;
        folds++;
      }
    }
    scale *= known + unknown;
    if (scale < FOLD_BELOW) {
      scale *= FOLD_UP;
      folds++;
    }
    const lastK = alpha[2 * (len - 1)];
    const lastU = alpha[2 * (len - 1) + 1];
    let gK = lastK / (lastK + lastU);
    let gU = lastU / (lastK + lastU);
    let at = responses[start + len - 1] * STRIDE;
    let seen = t[at + SEEN];
    let cor = t[at + CORRECT];
    knownDen += seen * gK;
    unknownDen += seen * gU;
    knownCorrect += cor * gK;
    unknownCorrect += cor * gU;
    let bK = 1;
    let bU = 1;
    for (let i = len - 2; i >= 0; i--) {
      const toKK = bK * t[at + KK];
      const toUK = bK * t[at + UK_BACKWARD];
      const toUU = bU * t[at + UU];
      const aK = alpha[2 * i];
      const aU = alpha[2 * i + 1];
      const xKK = aK * toKK;
      const xUK = aU * toUK;
      const xUU = aU * toUU;
      const inv = 1 / (xKK + xUK + xUU);
      gK = xKK * inv;
      gU = (xUK + xUU) * inv;
      learnNum += xUK * inv;
      learnDen += gU;
      forgetDen += gK;
      at = responses[start + i] * STRIDE;
      seen = t[at + SEEN];
      cor = t[at + CORRECT];
      knownDen += seen * gK;
      unknownDen += seen * gU;
      knownCorrect += cor * gK;
      unknownCorrect += cor * gU;
      bK = toKK;
      bU = toUK + toUU;
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
  counts.forgetNum = 0;
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
