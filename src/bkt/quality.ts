/**
 * What a fitted parameter set means for its users, checked before anyone trusts it. Two kinds of finding, kept
 * apart: flags that make a concept use the fallback (a degenerate model, too little data), and advisories about the
 * mastery policy (the threshold is unreachable, or slow to reach), reported with their numbers and never replacing
 * a fit. Parameters stuck at a bound are reported too.
 */
import type { BktParams } from './params.js';
import { type FitOptions, PARAM_FLOOR, upperLimit } from './options.js';

/** Flags on a concept's fit (degenerate, mastery unreachable, at a bound, few data) with their reasons. */
export interface QualityFlags {
  /** The model itself is unsound (see `degeneracyReasons`): its concept uses the fallback. */
  degenerate: boolean;
  /** Advisory: no run of correct answers takes P(L) to the threshold (the fit is kept). */
  mastery_unreachable: boolean;
  /** Advisory: mastery takes more than SLOW_MASTERY correct answers in a row from the prior (the fit is kept). */
  mastery_slow: boolean;
  at_bound: boolean;
  /** Too little data to trust the fit: its concept uses the fallback. */
  few_data: boolean;
  /** Human-readable reasons for degenerate, at_bound and few_data. Advisories are kept apart (`MasteryAdvice`). */
  reasons: string[];
}

/** few_data: fewer students than this. */
export const MIN_STUDENTS = 30;
/** few_data: fewer responses than this. */
export const MIN_RESPONSES = 200;
/** few_data: fewer sequences of length at least 2 than this. */
export const MIN_LONG_SEQUENCES = 10;

/** Correct answers in a row within which mastery is expected; beyond it, the `mastery_slow` advisory. */
export const SLOW_MASTERY = 10;

/** Baker's first empirical test: this many correct answers from the prior must raise P(L). */
const FIRST_RUN = 3;
/** Longest run of correct answers walked to count the answers to mastery. */
const LONGEST_RUN = 100_000;

/**
 * Why a parameter set is degenerate (empty when it is not): guess or slip above 0.5, guess + slip >= 1 (a correct
 * answer is no evidence of knowing), and the empirical tests of Baker, Corbett and Aleven (2008) read on the model:
 * P(L) falls after a correct answer, or a run of correct answers from the prior does not raise it. The mastery
 * threshold is a policy, not a property of the model: it is never a reason here (see `masteryAdvice`).
 */
export function degeneracyReasons(p: BktParams): string[] {
  const reasons: string[] = [];
  if (p.guess > 0.5) reasons.push(`guess ${fmt(p.guess)} > 0.5`);
  if (p.slip > 0.5) reasons.push(`slip ${fmt(p.slip)} > 0.5`);
  if (p.guess + p.slip >= 1) reasons.push(`guess + slip = ${fmt(p.guess + p.slip)} >= 1`);
  let known = p.prior;
  let unknown = 1 - p.prior;
  let fall: string | null = null;
  let afterFirstRun = known;
  for (let i = 1; i <= SLOW_MASTERY; i++) {
    const next = afterCorrect(p, known, unknown);
    if (fall === null && next.known < known - 1e-12) {
      fall = `P(L) falls after correct answer ${i} from the prior (${fmt(known)} -> ${fmt(next.known)})`;
    }
    known = next.known;
    unknown = next.unknown;
    if (i === FIRST_RUN) afterFirstRun = known;
  }
  if (fall !== null) reasons.push(fall);
  else if (!(afterFirstRun > p.prior) && p.prior < 1) {
    reasons.push(`${FIRST_RUN} correct answers from the prior do not raise P(L) (${fmt(p.prior)} -> ${fmt(afterFirstRun)})`);
  }
  return reasons;
}

/** One correct answer and the transition after it, on the exact (known, unknown) pair. */
function afterCorrect(p: BktParams, known: number, unknown: number): { known: number; unknown: number } {
  const jK = known * (1 - p.slip);
  const jU = unknown * p.guess;
  const pK = jK / (jK + jU);
  const pU = jU / (jK + jU);
  return { known: pK * (1 - p.forget) + pU * p.learn, unknown: pK * p.forget + pU * (1 - p.learn) };
}

/** What the mastery policy means under a parameter set: reported, never a reason to replace a fit. */
export interface MasteryAdvice {
  /** The limit of P(L) under an endless run of correct answers from the prior: the most P(L) can reach. */
  readonly ceiling: number;
  /** Correct answers in a row from the prior until P(L) >= threshold (0 when the prior is already); null = never. */
  readonly correctToMastery: number | null;
  readonly unreachable: boolean;
  readonly slow: boolean;
  /** Human-readable advisories, with the numbers. */
  readonly advisories: string[];
}

/**
 * The fixed point of "a correct answer, then the transition" that a run of correct answers approaches: the positive
 * root of (a - g) k^2 + (g - a (1 - forget) + g learn) k - g learn = 0 with a = 1 - slip, g = guess.
 */
export function masteryCeiling(p: BktParams): number {
  if (p.prior === 0 && p.learn === 0) return 0;
  const a = 1 - p.slip;
  const g = p.guess;
  const A = a - g;
  const B = g - a * (1 - p.forget) + g * p.learn;
  const C = -g * p.learn;
  if (A <= 0) return Math.min(1, p.prior); // degenerate: correct answers do not raise P(L)
  if (C === 0) return Math.max(0, Math.min(1, -B / A));
  // -2C / (B + sqrt(B^2 - 4AC)): the root without cancellation when B > 0.
  const root = B >= 0 ? (-2 * C) / (B + Math.sqrt(B * B - 4 * A * C)) : (-B + Math.sqrt(B * B - 4 * A * C)) / (2 * A);
  return Math.min(1, root);
}

/** The mastery advisories of a parameter set under a threshold: its ceiling and the correct answers to mastery. */
export function masteryAdvice(p: BktParams, threshold: number): MasteryAdvice {
  const ceiling = masteryCeiling(p);
  let correctToMastery: number | null = null;
  let known = p.prior;
  let unknown = 1 - p.prior;
  for (let n = 0; n <= LONGEST_RUN; n++) {
    if (known >= threshold) {
      correctToMastery = n;
      break;
    }
    if (ceiling < threshold) break;
    ({ known, unknown } = afterCorrect(p, known, unknown));
  }
  const unreachable = correctToMastery === null;
  const slow = correctToMastery !== null && correctToMastery > SLOW_MASTERY;
  const advisories: string[] = [];
  if (unreachable) {
    advisories.push(
      ceiling < threshold
        ? `mastery unreachable: correct answers take P(L) at most to ${fmt(ceiling)} < threshold ${threshold}`
        : `mastery unreachable within ${LONGEST_RUN} correct answers (P(L) ${fmt(known)} < threshold ${threshold})`,
    );
  } else if (slow) {
    advisories.push(`mastery slow: ${correctToMastery} correct answers in a row from the prior reach threshold ${threshold} (more than ${SLOW_MASTERY})`);
  }
  return { ceiling, correctToMastery, unreachable, slow, advisories };
}

export interface DataSize {
  responses: number;
  students: number;
  /** Sequences with at least two responses (the ones that inform learn). */
  longSequences: number;
}

/** Every flag of a fitted parameter set; `advice` is `masteryAdvice(p, o.threshold)` when the caller has it. */
export function qualityFlags(p: BktParams, o: FitOptions, size: DataSize, advice = masteryAdvice(p, o.threshold)): QualityFlags {
  const reasons = degeneracyReasons(p);
  const degenerate = reasons.length > 0;
  const bounded = atBound(p, o);
  if (bounded.length > 0) reasons.push(`at bound: ${bounded.join(', ')}`);
  const few: string[] = [];
  if (size.students < MIN_STUDENTS) few.push(`${size.students} students < ${MIN_STUDENTS}`);
  if (size.responses < MIN_RESPONSES) few.push(`${size.responses} responses < ${MIN_RESPONSES}`);
  if (size.longSequences < MIN_LONG_SEQUENCES) few.push(`${size.longSequences} sequences of length >= 2 < ${MIN_LONG_SEQUENCES}`);
  reasons.push(...few);
  return {
    degenerate,
    mastery_unreachable: advice.unreachable,
    mastery_slow: advice.slow,
    at_bound: bounded.length > 0,
    few_data: few.length > 0,
    reasons,
  };
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
 * of a geometric wait. null when learn is 0 (never), and, given a threshold, when mastery is unreachable.
 */
export function opportunitiesToMastery(p: BktParams, threshold?: number): number | null {
  if (!(p.learn > 0)) return null;
  if (threshold !== undefined && masteryCeiling(p) < threshold && p.prior < threshold) return null;
  return (1 - p.prior) / p.learn;
}

function fmt(v: number): string {
  return Number(v.toPrecision(4)).toString();
}
