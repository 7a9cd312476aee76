/**
 * BKT parameters for one concept, their defaults (the story's literature values) and validation.
 *
 * `guess` and `slip` must lie strictly inside (0, 1): at 0 or 1 an observation can have probability 0 in
 * one state, and the posterior divides by zero for some response sequences. `prior`, `learn` and `forget`
 * may be 0 or 1.
 */
export interface BktParams {
  /** P(L0): probability the concept is known before the first response. */
  readonly prior: number;
  /** P(T): probability of moving from unknown to known after a response. */
  readonly learn: number;
  /** P(G): probability of a correct answer while unknown. */
  readonly guess: number;
  /** P(S): probability of a wrong answer while known. */
  readonly slip: number;
  /** P(F): probability of moving from known to unknown after a response (0 = standard BKT). */
  readonly forget: number;
}

/** The name of one BKT parameter: prior, learn, guess, slip or forget. */
export type ParamName = keyof BktParams;

/** The five parameter names, in the order files and tables list them. */
export const PARAM_NAMES: readonly ParamName[] = ['prior', 'learn', 'guess', 'slip', 'forget'];

/** The story's default parameters: prior 0.1, learn 0.2, guess 0.25, slip 0.1, forget 0. */
export const DEFAULT_PARAMS: BktParams = Object.freeze({
  prior: 0.1,
  learn: 0.2,
  guess: 0.25,
  slip: 0.1,
  forget: 0,
});

/** Mastered means P(L) after the response is at least this. */
export const DEFAULT_THRESHOLD = 0.95;

const OPEN_UNIT: ReadonlySet<ParamName> = new Set<ParamName>(['guess', 'slip']);

/** Throws a RangeError naming the first parameter that is not a finite number in its allowed range. */
export function checkParams(p: BktParams): BktParams {
  for (const name of PARAM_NAMES) {
    const v = p[name];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new RangeError(`${name} must be a finite number, got ${String(v)}`);
    }
    if (OPEN_UNIT.has(name) ? !(v > 0 && v < 1) : !(v >= 0 && v <= 1)) {
      const range = OPEN_UNIT.has(name) ? 'strictly between 0 and 1' : 'between 0 and 1';
      throw new RangeError(`${name} must be ${range}, got ${v}`);
    }
  }
  return p;
}

/** Fills missing fields from the defaults, then validates. */
export function makeParams(partial: Partial<BktParams> = {}): BktParams {
  return checkParams({ ...DEFAULT_PARAMS, ...partial });
}

/** Throws a RangeError unless the threshold is a finite number in (0, 1]. */
export function checkThreshold(threshold: number): number {
  if (!Number.isFinite(threshold) || threshold <= 0 || threshold > 1) {
    throw new RangeError(`threshold must be a number in (0, 1], got ${threshold}`);
  }
  return threshold;
}
