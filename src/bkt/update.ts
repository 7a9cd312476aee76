/**
 * One response at a time: the forward step of the BKT hidden Markov model.
 *
 * The state carries both probabilities, P(known) and P(unknown), as pyBKT's forward pass does. Keeping only
 * P(L) in a float64 rounds it to exactly 1.0 after a long run of correct answers, and from then on no wrong
 * answer can bring it down; P(unknown) kept on its own holds values like 1e-30 exactly. The pair is the stored
 * form of mastery: the service persists both numbers.
 */
import { type BktParams, DEFAULT_THRESHOLD } from './params.js';

/** The exact stored state of one (student, concept) pair. `known + unknown` is 1 up to rounding. */
export interface MasteryState {
  /** P(L): probability the concept is known now (the mastery level). */
  readonly known: number;
  /** P(not L), kept separately so that it does not round to 0 when P(L) is close to 1. */
  readonly unknown: number;
}

/** Everything one response tells, with the names used in the README and the golden files. */
export interface ResponseUpdate {
  /** P(correct) before this answer was seen. */
  readonly pCorrect: number;
  /** P(L) before this answer. */
  readonly masteryBefore: number;
  /** P(L | this answer and earlier ones), before the learning transition. */
  readonly posterior: number;
  /** posterior*(1 - forget) + (1 - posterior)*learn: the mastery stored after this answer. */
  readonly masteryAfter: number;
  /** masteryAfter >= threshold, recomputed at every answer (not sticky). */
  readonly mastered: boolean;
  /** The state to store; `state.known === masteryAfter`. */
  readonly state: MasteryState;
}

/** The state of a pair that has never answered: the prior. */
export function initialState(params: BktParams): MasteryState {
  return { known: params.prior, unknown: 1 - params.prior };
}

/**
 * A state rebuilt from a mastery level alone (for data that stored only P(L)). Exact except that P(unknown)
 * cannot be smaller than float64's resolution below 1.
 */
export function stateFromLevel(level: number): MasteryState {
  checkProbability('level', level);
  return { known: level, unknown: 1 - level };
}

/** P(correct) on the next answer from this state. */
export function predictCorrect(state: MasteryState, params: BktParams): number {
  return atMostOne(state.known * (1 - params.slip) + state.unknown * params.guess);
}

/**
 * Sums of probabilities can round one ulp above 1 (0.7 * 1 + 0.3 * 1 need not be 1 in float64); the outputs
 * are probabilities, so they are held to [0, 1]. Both `updateMastery` and `traceMastery` use this.
 */
export function atMostOne(x: number): number {
  return x > 1 ? 1 : x;
}

function checkProbability(name: string, v: number): void {
  if (!(v >= 0 && v <= 1)) throw new RangeError(`${name} must be a number in [0, 1], got ${String(v)}`);
}

/** Cheap inline validation: this runs on every update, so no loops or allocations. */
function checkUpdateInputs(state: MasteryState, params: BktParams): void {
  const { prior, learn, guess, slip, forget } = params;
  if (!(guess > 0 && guess < 1)) throw new RangeError(`guess must be strictly between 0 and 1, got ${String(guess)}`);
  if (!(slip > 0 && slip < 1)) throw new RangeError(`slip must be strictly between 0 and 1, got ${String(slip)}`);
  if (!(learn >= 0 && learn <= 1)) throw new RangeError(`learn must be between 0 and 1, got ${String(learn)}`);
  if (!(forget >= 0 && forget <= 1)) throw new RangeError(`forget must be between 0 and 1, got ${String(forget)}`);
  if (!(prior >= 0 && prior <= 1)) throw new RangeError(`prior must be between 0 and 1, got ${String(prior)}`);
  const { known, unknown } = state;
  if (!(known >= 0 && known <= 1)) throw new RangeError(`state.known must be in [0, 1], got ${String(known)}`);
  if (!(unknown >= 0 && unknown <= 1)) throw new RangeError(`state.unknown must be in [0, 1], got ${String(unknown)}`);
  if (!(Math.abs(known + unknown - 1) <= 1e-9)) {
    throw new RangeError(`state.known + state.unknown must be 1, got ${known + unknown}`);
  }
}

/**
 * Applies one response. O(1), validates its inputs (RangeError naming the field), never returns NaN:
 * with guess and slip strictly inside (0, 1) and known + unknown = 1, the evidence's normaliser is positive.
 * `correct: null` is a step with no observed answer: the transition applies, the emission does not.
 */
export function updateMastery(
  state: MasteryState,
  correct: boolean | null,
  params: BktParams,
  threshold: number = DEFAULT_THRESHOLD,
): ResponseUpdate {
  checkUpdateInputs(state, params);
  const { known, unknown } = state;
  const { learn, guess, slip, forget } = params;
  const pCorrect = atMostOne(known * (1 - slip) + unknown * guess);
  // Joint probabilities of (state, this answer), then normalised: the posterior over the two states.
  let postKnown = known;
  let postUnknown = unknown;
  if (correct !== null) {
    const jointKnown = correct ? known * (1 - slip) : known * slip;
    const jointUnknown = correct ? unknown * guess : unknown * (1 - guess);
    const evidence = jointKnown + jointUnknown;
    postKnown = jointKnown / evidence;
    postUnknown = jointUnknown / evidence;
  }
  // The learning (and forgetting) transition after the answer.
  const nextKnown = atMostOne(postKnown * (1 - forget) + postUnknown * learn);
  const nextUnknown = atMostOne(postKnown * forget + postUnknown * (1 - learn));
  return {
    pCorrect,
    masteryBefore: known,
    posterior: postKnown,
    masteryAfter: nextKnown,
    mastered: nextKnown >= threshold,
    state: { known: nextKnown, unknown: nextUnknown },
  };
}
