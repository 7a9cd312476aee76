/**
 * Baum-Welch for one concept with per-value parameters (the variants in variants.ts): the E-step of em.ts with the
 * emission of each row taken from its guess/slip value, the transition after each row from its learn value, and
 * the prior of each sequence from its first row's prior value; the M-step is the closed form per value, from that
 * value's expected counts. The expected complete-data log-likelihood still splits into one Bernoulli term per
 * (parameter, value), so the clipped per-value ratios are its exact constrained maximiser and the log-likelihood
 * never decreases. A separate loop from em.ts's, so the standard model keeps its own, faster one.
 */
import type { BktParams } from './params.js';
import { type FitOptions, KICK_ITERATIONS, KICK_SHARE, PARAM_FLOOR, SHORT_RUN_ITERATIONS, upperLimit } from './options.js';
import {
  type Counts, countRows, emptyCounts, type EmResult, FOLD_BELOW, FOLD_UP, LOG_FOLD, maxSequenceLength,
  mStep, projectStart, ratio,
} from './em.js';
import type { SequenceSet } from './trace.js';
import type { VariantKind } from './variants.js';

/**
 * One concept's sequences with a value index per row (absolute row indices, like `responses`). A variant that is
 * not fitted has one value and codes that are all 0, which is the standard model for that parameter.
 */
export interface ValueSequences extends SequenceSet {
  /** Per row: its guess/slip value. */
  readonly guessSlip: Uint32Array;
  /** Per row: the learn/forget value of the transition after it. */
  readonly learn: Uint32Array;
  /** Per row, read at a sequence's first row: its prior value. */
  readonly prior: Uint32Array;
  /** Values per variant (1 when not fitted). */
  readonly sizes: { readonly [K in VariantKind]: number };
  /** Which variants are fitted. */
  readonly varied: { readonly [K in VariantKind]: boolean };
}

/** Parameters per value: prior per prior value, learn and forget per learn value, guess and slip per guess/slip value. */
export interface ValueModel {
  readonly prior: Float64Array;
  readonly learn: Float64Array;
  readonly forget: Float64Array;
  readonly guess: Float64Array;
  readonly slip: Float64Array;
}

/** Expected sufficient statistics of one E-step, per value (see em.ts's Counts for the meaning of each). */
export interface ValueCounts {
  readonly priorNum: Float64Array;
  readonly sequences: Float64Array;
  readonly learnNum: Float64Array;
  readonly learnDen: Float64Array;
  readonly forgetNum: Float64Array;
  readonly forgetDen: Float64Array;
  /** Expected correct answers while known, rows while known, correct while unknown, rows while unknown. */
  readonly knownCorrect: Float64Array;
  readonly knownDen: Float64Array;
  readonly unknownCorrect: Float64Array;
  readonly unknownDen: Float64Array;
  scale: number;
  folds: number;
}

export function emptyValueCounts(sizes: ValueSequences['sizes']): ValueCounts {
  const f = (n: number) => new Float64Array(n);
  const { guessSlip: g, learn: l, prior: p } = sizes;
  return {
    priorNum: f(p), sequences: f(p), learnNum: f(l), learnDen: f(l), forgetNum: f(l), forgetDen: f(l),
    knownCorrect: f(g), knownDen: f(g), unknownCorrect: f(g), unknownDen: f(g), scale: 1, folds: 0,
  };
}

/** Every value of every variant at the same parameters. */
export function broadcastParams(p: BktParams, sizes: ValueSequences['sizes']): ValueModel {
  return {
    prior: new Float64Array(sizes.prior).fill(p.prior),
    learn: new Float64Array(sizes.learn).fill(p.learn),
    forget: new Float64Array(sizes.learn).fill(p.forget),
    guess: new Float64Array(sizes.guessSlip).fill(p.guess),
    slip: new Float64Array(sizes.guessSlip).fill(p.slip),
  };
}

/** Forward-backward with per-value parameters: fills `counts` and returns the exact log-likelihood. */
export function eStepByValue(seqs: ValueSequences, m: ValueModel, counts: ValueCounts, alpha: Float64Array): number {
  if (!warm) warmUp();
  forwardBackwardByValue(seqs, m, counts, alpha);
  return Math.log(counts.scale) - counts.folds * LOG_FOLD;
}

/** As em.ts's warmUp, for this loop: a first call on a few rows that take every branch (two values per variant). */
let warm = false;
function warmUp(): void {
  warm = true;
  const lengths = [0, 1, 30, 10, 10, 10, 10, 4];
  const offsets = new Uint32Array(lengths.length + 1);
  lengths.forEach((n, i) => (offsets[i + 1] = offsets[i] + n));
  const rows = offsets[lengths.length];
  const responses = new Uint8Array(rows).fill(1);
  responses.set([0, 2, 0, 2], rows - 4);
  const codes = Uint32Array.from({ length: rows }, (_, i) => i & 1);
  const sizes = { guessSlip: 2, learn: 2, prior: 2 };
  const varied = { guessSlip: true, learn: true, prior: true };
  const seqs: ValueSequences = { responses, offsets, guessSlip: codes, learn: codes, prior: codes, sizes, varied };
  const m = broadcastParams({ prior: 0, learn: 0, guess: 2 ** -20, slip: 0.5, forget: 0 }, sizes);
  forwardBackwardByValue(seqs, m, emptyValueCounts(sizes), new Float64Array(60));
}

function forwardBackwardByValue(seqs: ValueSequences, m: ValueModel, c: ValueCounts, alpha: Float64Array): void {
  const { responses, offsets, guessSlip: gsOf, learn: learnOf, prior: priorOf } = seqs;
  const { prior, learn, forget, guess, slip } = m;
  const { priorNum, sequences, learnNum, learnDen, forgetNum, forgetDen, knownCorrect, knownDen, unknownCorrect, unknownDen } = c;
  for (const a of [priorNum, sequences, learnNum, learnDen, forgetNum, forgetDen, knownCorrect, knownDen, unknownCorrect, unknownDen]) a.fill(0);
  let folds = 0;
  let scale = 1;
  const nSeq = offsets.length - 1;
  for (let s = 0; s < nSeq; s++) {
    const start = offsets[s];
    const len = offsets[s + 1] - start;
    if (len === 0) continue;
    // Forward, unnormalised and rescaled only when small, as in em.ts; emissions written without a branch per row.
    let known = prior[priorOf[start]];
    let unknown = 1 - known;
    for (let t = 0; t < len; t++) {
      const i = start + t;
      const o = responses[i];
      const seen = 1 - (o >> 1);
      const cor = o & 1;
      const g = gsOf[i];
      const aK = known * (seen * (slip[g] + cor * (1 - 2 * slip[g])) + (1 - seen));
      const aU = unknown * (seen * (1 - guess[g] + cor * (2 * guess[g] - 1)) + (1 - seen));
      alpha[2 * t] = aK;
      alpha[2 * t + 1] = aU;
      const l = learnOf[i];
      known = aK * (1 - forget[l]) + aU * learn[l];
      unknown = aK * forget[l] + aU * (1 - learn[l]);
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
    // Backward: gamma and xi normalised per step by their own sum; beta only rescaled when it gets small.
    const lastK = alpha[2 * (len - 1)];
    const lastU = alpha[2 * (len - 1) + 1];
    let gK = lastK / (lastK + lastU);
    let gU = lastU / (lastK + lastU);
    let i = start + len - 1;
    let o = responses[i];
    let seen = 1 - (o >> 1);
    let cor = o & 1;
    let g = gsOf[i];
    knownDen[g] += seen * gK;
    unknownDen[g] += seen * gU;
    knownCorrect[g] += cor * gK;
    unknownCorrect[g] += cor * gU;
    let bK = 1;
    let bU = 1;
    for (let t = len - 2; t >= 0; t--) {
      // Emission of row t + 1 (still in g, seen, cor), then the transition after row t.
      const wK = bK * (seen * (slip[g] + cor * (1 - 2 * slip[g])) + (1 - seen));
      const wU = bU * (seen * (1 - guess[g] + cor * (2 * guess[g] - 1)) + (1 - seen));
      i = start + t;
      const l = learnOf[i];
      const lr = learn[l];
      const fg = forget[l];
      const aK = alpha[2 * t];
      const aU = alpha[2 * t + 1];
      const xKK = aK * (1 - fg) * wK;
      const xKU = aK * fg * wU;
      const xUK = aU * lr * wK;
      const xUU = aU * (1 - lr) * wU;
      const inv = 1 / (xKK + xKU + xUK + xUU);
      gK = (xKK + xKU) * inv;
      gU = (xUK + xUU) * inv;
      learnNum[l] += xUK * inv;
      learnDen[l] += gU;
      forgetNum[l] += xKU * inv;
      forgetDen[l] += gK;
      o = responses[i];
      seen = 1 - (o >> 1);
      cor = o & 1;
      g = gsOf[i];
      knownDen[g] += seen * gK;
      unknownDen[g] += seen * gU;
      knownCorrect[g] += cor * gK;
      unknownCorrect[g] += cor * gU;
      bK = (1 - fg) * wK + fg * wU;
      bU = lr * wK + (1 - lr) * wU;
      if (bK + bU < FOLD_BELOW) {
        const r = 1 / (bK + bU);
        bK *= r;
        bU *= r;
      }
    }
    const p = priorOf[start];
    priorNum[p] += gK;
    sequences[p] += 1;
  }
  c.scale = scale;
  c.folds = folds;
}

/** The counts summed over every value: the statistics of the tied (one value) model at the same posteriors. */
export function pooledCounts(c: ValueCounts): Counts {
  const sum = (a: Float64Array) => a.reduce((x, y) => x + y, 0);
  const out = emptyCounts();
  out.priorNum = sum(c.priorNum);
  out.sequences = sum(c.sequences);
  out.learnNum = sum(c.learnNum);
  out.learnDen = sum(c.learnDen);
  out.forgetNum = sum(c.forgetNum);
  out.forgetDen = sum(c.forgetDen);
  out.guessNum = sum(c.unknownCorrect);
  out.guessDen = sum(c.unknownDen);
  out.slipDen = sum(c.knownDen);
  out.slipNum = out.slipDen - sum(c.knownCorrect);
  return out;
}

/** The closed-form M-step of every value (em.ts's mStep, value by value): fixed parameters and bounds apply to each. */
export function mStepByValue(c: ValueCounts, prev: ValueModel, o: FitOptions): ValueModel {
  const next = {
    prior: new Float64Array(prev.prior.length), learn: new Float64Array(prev.learn.length),
    forget: new Float64Array(prev.forget.length), guess: new Float64Array(prev.guess.length), slip: new Float64Array(prev.slip.length),
  };
  const top = 1 - PARAM_FLOOR;
  const f = o.fixed;
  for (let k = 0; k < next.prior.length; k++) next.prior[k] = f.prior ?? ratio(c.priorNum[k], c.sequences[k], prev.prior[k], top);
  for (let k = 0; k < next.learn.length; k++) {
    next.learn[k] = f.learn ?? ratio(c.learnNum[k], c.learnDen[k], prev.learn[k], top);
    next.forget[k] = f.forget ?? (o.fitForget ? ratio(c.forgetNum[k], c.forgetDen[k], prev.forget[k], top) : 0);
  }
  for (let k = 0; k < next.guess.length; k++) {
    next.guess[k] = f.guess ?? ratio(c.unknownCorrect[k], c.unknownDen[k], prev.guess[k], upperLimit(o, 'guess'));
    next.slip[k] = f.slip ?? ratio(c.knownDen[k] - c.knownCorrect[k], c.knownDen[k], prev.slip[k], upperLimit(o, 'slip'));
  }
  return next;
}

/** An EM result with the parameters of every value. */
export interface ValueEmResult extends EmResult {
  /** Per value, at the result; `params` holds the concept's own values (see `ownParams`). */
  readonly values: ValueModel;
  /** E-steps run over every short run and the continuation (the work done, in passes over the rows). */
  readonly eSteps: number;
}

/** One run's state: its model, the E-step at it, and its progress. */
interface Run {
  model: ValueModel;
  logLik: number;
  counts: ValueCounts;
  spare: ValueCounts;
  iterations: number;
  converged: boolean;
  history?: number[];
}

/** EM iterations on a run until `limit` M-steps in all, or convergence (em.ts's rule); returns the E-steps run. */
function iterate(seqs: ValueSequences, run: Run, o: FitOptions, limit: number, minGain: number, alpha: Float64Array): number {
  let eSteps = 0;
  while (!run.converged && run.iterations < limit) {
    const next = mStepByValue(run.counts, run.model, o);
    run.iterations++;
    const nextLogLik = eStepByValue(seqs, next, run.spare, alpha);
    eSteps++;
    run.history?.push(nextLogLik);
    const gain = nextLogLik - run.logLik;
    if (gain > 0) {
      run.model = next;
      run.logLik = nextLogLik;
      [run.counts, run.spare] = [run.spare, run.counts]; // `counts` stays the E-step at `model`
    }
    if (gain <= minGain) run.converged = true;
  }
  return eSteps;
}

/**
 * EM with em.ts's convergence rule: stop when an iteration gains at most tol * rows, or after maxIterations M-steps;
 * the best parameters seen are returned. Every value starts at the same point. Given several starting points, EM
 * runs SHORT_RUN_ITERATIONS iterations from each (the short runs of Biernacki, Celeux and Govaert's emEM); the run
 * with the highest log-likelihood then (the first on a tie) and the first run go on, and the better of the two is
 * returned (the first on a tie), so the result is never below that of the first start alone.
 */
export function runEmByValue(
  seqs: ValueSequences,
  start: BktParams | readonly BktParams[],
  o: FitOptions,
  scratch?: { alpha?: Float64Array; history?: boolean },
): ValueEmResult {
  const need = 2 * maxSequenceLength(seqs);
  const alpha = scratch?.alpha && scratch.alpha.length >= need ? scratch.alpha : new Float64Array(need);
  const minGain = o.tol * countRows(seqs);
  const starts: readonly BktParams[] = Array.isArray(start) ? start : [start as BktParams];
  if (starts.length === 0) throw new RangeError('runEmByValue needs at least one starting point');
  const shortLimit = starts.length > 1 ? Math.min(SHORT_RUN_ITERATIONS, o.maxIterations) : o.maxIterations;
  const runs: Run[] = [];
  let eSteps = 0;
  for (const s of starts) {
    const counts = emptyValueCounts(seqs.sizes);
    const model = broadcastParams(projectStart(s, o), seqs.sizes);
    const logLik = eStepByValue(seqs, model, counts, alpha);
    const run: Run = { model, logLik, counts, spare: emptyValueCounts(seqs.sizes), iterations: 0, converged: false };
    if (scratch?.history) run.history = [logLik];
    eSteps += 1 + iterate(seqs, run, o, shortLimit, minGain, alpha);
    runs.push(run);
  }
  // The first start (the plain restart) always runs on too, so short runs never end below it.
  const leader = runs.reduce((a, b) => (b.logLik > a.logLik ? b : a));
  let run = runs[0];
  eSteps += iterate(seqs, run, o, o.maxIterations, minGain, alpha);
  if (leader !== run) {
    eSteps += iterate(seqs, leader, o, o.maxIterations, minGain, alpha);
    if (leader.logLik > run.logLik) run = leader;
  }
  return resultOf(seqs, run, o, eSteps);
}

function resultOf(seqs: ValueSequences, run: Run, o: FitOptions, eSteps: number): ValueEmResult {
  const params = ownParams(seqs, run.model, run.counts, o);
  const values = withOwnWhereUninformed(run.model, run.counts, params);
  const result = { params, logLik: run.logLik, iterations: run.iterations, converged: run.converged, values, eSteps };
  return run.history ? { ...result, history: run.history } : result;
}

/** A run from a model of every value, after its first E-step. */
function startRun(seqs: ValueSequences, model: ValueModel, alpha: Float64Array): Run {
  const counts = emptyValueCounts(seqs.sizes);
  const logLik = eStepByValue(seqs, model, counts, alpha);
  return { model, logLik, counts, spare: emptyValueCounts(seqs.sizes), iterations: 0, converged: false };
}

/**
 * Iterated local search from a fit (`o.kicks` kicks): each kick redraws every per-value parameter of the fitted
 * variants with probability KICK_SHARE (from the ranges of the restarts' starting points; fixed parameters stay),
 * runs EM from there for at most KICK_ITERATIONS iterations, and when that beats the best fit so far, runs it on to
 * convergence and kicks from it next. Each kick is exact EM from a start of its own, so the result is never below
 * `fit`. Kicks move many sparse values at once to other modes: a better maximum that differs from the fit in a few
 * values jointly, which no step in one value reaches (each such step alone lowers the log-likelihood), is found so.
 */
export function kickByValue(seqs: ValueSequences, fit: ValueEmResult, o: FitOptions, rand: () => number): ValueEmResult {
  const alpha = new Float64Array(2 * Math.max(1, maxSequenceLength(seqs)));
  const minGain = o.tol * countRows(seqs);
  const shortLimit = Math.min(KICK_ITERATIONS, o.maxIterations);
  let best: Run | undefined;
  let bestLogLik = fit.logLik;
  let eSteps = 0;
  for (let k = 0; k < o.kicks; k++) {
    const from = best?.model ?? fit.values;
    const run = startRun(seqs, kicked(from, seqs, o, rand), alpha);
    eSteps += 1 + iterate(seqs, run, o, shortLimit, minGain, alpha);
    if (!(run.logLik > bestLogLik)) continue;
    eSteps += iterate(seqs, run, o, o.maxIterations, minGain, alpha);
    best = run;
    bestLogLik = run.logLik;
  }
  return best ? resultOf(seqs, best, o, eSteps) : { ...fit, eSteps };
}

/** A copy of m with each per-value parameter of the fitted variants redrawn with probability KICK_SHARE. */
function kicked(m: ValueModel, seqs: ValueSequences, o: FitOptions, rand: () => number): ValueModel {
  const out = { prior: m.prior.slice(), learn: m.learn.slice(), forget: m.forget.slice(), guess: m.guess.slice(), slip: m.slip.slice() };
  const f = o.fixed;
  // Two draws per parameter and value whether or not it changes, so fixing one leaves the others' draws unchanged.
  const top = 1 - PARAM_FLOOR;
  const redraw = (a: Float64Array, scale: number, free: boolean) => {
    for (let k = 0; k < a.length; k++) {
      const hit = rand() < KICK_SHARE;
      const v = scale * rand();
      if (hit && free) a[k] = Math.min(top, Math.max(PARAM_FLOOR, v));
    }
  };
  if (seqs.varied.prior) redraw(out.prior, 1, f.prior === undefined);
  if (seqs.varied.learn) {
    redraw(out.learn, 0.4, f.learn === undefined);
    redraw(out.forget, 0.1, o.fitForget && f.forget === undefined);
  }
  if (seqs.varied.guessSlip) {
    redraw(out.guess, Math.min(0.4, upperLimit(o, 'guess')), f.guess === undefined);
    redraw(out.slip, Math.min(0.3, upperLimit(o, 'slip')), f.slip === undefined);
  }
  return out;
}

/**
 * The concept's own parameters, used for values not seen in training: a variant's single value when it is not
 * fitted; when it is, the tied M-step, from the counts summed over its values at the final posteriors (the maximiser
 * for a value whose rows were spread like all of the concept's rows).
 */
export function ownParams(seqs: ValueSequences, m: ValueModel, c: ValueCounts, o: FitOptions): BktParams {
  const current: BktParams = { prior: m.prior[0], learn: m.learn[0], guess: m.guess[0], slip: m.slip[0], forget: m.forget[0] };
  const tied = mStep(pooledCounts(c), current, o);
  const { varied } = seqs;
  return {
    prior: varied.prior ? tied.prior : current.prior,
    learn: varied.learn ? tied.learn : current.learn,
    guess: varied.guessSlip ? tied.guess : current.guess,
    slip: varied.guessSlip ? tied.slip : current.slip,
    forget: varied.learn ? tied.forget : current.forget,
  };
}

/**
 * A value whose parameter had no expected count (learn after rows that end every sequence, guess and slip of rows
 * with no observation) has no effect on the likelihood and kept its starting value: it takes the concept's own.
 */
function withOwnWhereUninformed(m: ValueModel, c: ValueCounts, own: BktParams): ValueModel {
  const pick = (v: Float64Array, den: Float64Array, fallback: number) => v.map((x, k) => (den[k] > 0 ? x : fallback));
  return {
    prior: m.prior,
    learn: pick(m.learn, c.learnDen, own.learn),
    forget: pick(m.forget, c.forgetDen, own.forget),
    guess: pick(m.guess, c.unknownDen, own.guess),
    slip: pick(m.slip, c.knownDen, own.slip),
  };
}
