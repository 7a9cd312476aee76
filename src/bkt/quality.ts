/**
 * What a fitted parameter set means for its users, checked before anyone trusts it: degenerate models (where a
 * correct answer is evidence of not knowing, or mastery never comes), unreachable mastery, parameters stuck at a
 * bound, and too little data.
 */
import type { BktParams } from './params.js';
import { type FitOptions, PARAM_FLOOR, upperLimit } from './options.js';

/** Flags on a concept's fit (degenerate, mastery unreachable, at a bound, few data) with their reasons. */
export interface QualityFlags {
  degenerate: boolean;
  mastery_unreachable: boolean;
  at_bound: boolean;
  few_data: boolean;
  /** Human-readable reasons for every flag that is set. */
  reasons: string[];
}

/** few_data: fewer students than this. */
export const MIN_STUDENTS = 30;
/** few_data: fewer responses than this. */
export const MIN_RESPONSES = 200;
/** few_data: fewer sequences of length at least 2 than this. */
export const MIN_LONG_SEQUENCES = 10;

/** Correct answers in a row from the prior within which mastery must be reached. */
const CORRECT_RUN = 10;

/** Why a parameter set is degenerate (empty when it is not). */
export function degeneracyReasons(p: BktParams, threshold: number): string[] {
  const reasons: string[] = [];
  if (p.guess > 0.5) reasons.push(`guess ${fmt(p.guess)} > 0.5`);
  if (p.slip > 0.5) reasons.push(`slip ${fmt(p.slip)} > 0.5`);
  if (p.guess + p.slip >= 1) reasons.push(`guess + slip = ${fmt(p.guess + p.slip)} >= 1`);
  // Walk CORRECT_RUN correct answers from the prior: mastery must rise at each and reach the threshold.
  let known = p.prior;
  let unknown = 1 - p.prior;
  let falls = false;
  for (let i = 0; i < CORRECT_RUN; i++) {
    const jK = known * (1 - p.slip);
    const jU = unknown * p.guess;
    const pK = jK / (jK + jU);
    const pU = jU / (jK + jU);
    const nextKnown = pK * (1 - p.forget) + pU * p.learn;
    if (nextKnown < known - 1e-12) falls = true;
    unknown = pK * p.forget + pU * (1 - p.learn);
    known = nextKnown;
  }
  if (falls) reasons.push('P(L) falls after a correct answer');
  if (known < threshold) reasons.push(`${CORRECT_RUN} correct answers from the prior reach only P(L) = ${fmt(known)} < ${threshold}`);
  return reasons;
}

export interface DataSize {
  responses: number;
  students: number;
  /** Sequences with at least two responses (the ones that inform learn). */
  longSequences: number;
}

export function qualityFlags(p: BktParams, o: FitOptions, size: DataSize): QualityFlags {
  const reasons = degeneracyReasons(p, o.threshold);
  const degenerate = reasons.length > 0;
  const mastery_unreachable = Math.max(1 - p.forget, p.learn) < o.threshold;
  if (mastery_unreachable) reasons.push(`max(1 - forget, learn) = ${fmt(Math.max(1 - p.forget, p.learn))} < threshold`);
  const bounded = atBound(p, o);
  if (bounded.length > 0) reasons.push(`at bound: ${bounded.join(', ')}`);
  const few: string[] = [];
  if (size.students < MIN_STUDENTS) few.push(`${size.students} students < ${MIN_STUDENTS}`);
  if (size.responses < MIN_RESPONSES) few.push(`${size.responses} responses < ${MIN_RESPONSES}`);
  if (size.longSequences < MIN_LONG_SEQUENCES) few.push(`${size.longSequences} sequences of length >= 2 < ${MIN_LONG_SEQUENCES}`);
  reasons.push(...few);
  return { degenerate, mastery_unreachable, at_bound: bounded.length > 0, few_data: few.length > 0, reasons };
}

/** Fitted (not fixed) parameters sitting on the edge of their allowed box. */
function atBound(p: BktParams, o: FitOptions): string[] {
  const out: string[] = [];
  const eps = 1e-9;
  const check = (name: keyof BktParams, hi: number) => {
    if (o.fixed[name] !== undefined) return;
    if (name === 'forget' && !o.fitForget) return;
    const v = p[name];
    if (v <= PARAM_FLOOR + eps) out.push(`${name} = ${fmt(v)} (lower)`);
    else if (v >= hi - eps) out.push(`${name} = ${fmt(v)} (upper)`);
  };
  check('prior', 1 - PARAM_FLOOR);
  check('learn', 1 - PARAM_FLOOR);
  check('guess', upperLimit(o, 'guess'));
  check('slip', upperLimit(o, 'slip'));
  check('forget', 1 - PARAM_FLOOR);
  return out;
}

/**
 * Expected practice opportunities before the student first enters the known state: (1 - prior) / learn, the mean
 * of a geometric wait. null when learn is 0 (never).
 */
export function opportunitiesToMastery(p: BktParams): number | null {
  return p.learn > 0 ? (1 - p.prior) / p.learn : null;
}

function fmt(v: number): string {
  return Number(v.toPrecision(4)).toString();
}
