/** Options of EM fitting, their defaults and validation. */
import { type BktParams, checkThreshold, DEFAULT_THRESHOLD, PARAM_NAMES } from './params.js';

/** Upper bounds on guess and slip (hmm-scalable's default is 0.3 for both). `null` = no bound. */
export interface Bounds {
  readonly guess: number | null;
  readonly slip: number | null;
}

/** What a concept uses when its own fit is degenerate, has too little data or is absent. */
export type Fallback = 'pooled' | 'defaults' | 'none';

/** Options of EM fitting; `makeFitOptions` fills and checks them. */
export interface FitOptions {
  /** Random restarts per concept, including restart 0 at the story defaults. */
  readonly restarts: number;
  /**
   * Restarts of the pooled fallback fit (all rows as one concept). Default 1: on the shared data sets its five
   * restarts agree within 0.5 in log-likelihood (bench/pooled-restarts), and it is the largest unit of work.
   */
  readonly pooledRestarts: number;
  readonly seed: number;
  /**
   * Models with per-value parameters only (the variants): EM runs from this many starting points per restart for
   * SHORT_RUN_ITERATIONS iterations each, and the best of them runs on to convergence beside the first. Their likelihood has many local
   * maxima (one per way of splitting sparse values' guess and slip), and these short runs find better ones for the
   * same work than as many full restarts (bench/local-maxima.ts). 1 = plain restarts. The standard model ignores it.
   */
  readonly shortRuns: number;
  /**
   * Models with per-value parameters only: kicks of iterated local search from each concept's best restart
   * (em-variants.ts's kickByValue). 0 = none. The standard model ignores it.
   */
  readonly kicks: number;
  readonly maxIterations: number;
  /** Stop when an iteration gains at most tol * responses in log-likelihood. */
  readonly tol: number;
  readonly bounds: Bounds;
  /** Parameters held at a value instead of fitted. */
  readonly fixed: Partial<BktParams>;
  /** Fit `forget`; when false it stays at fixed.forget ?? 0. */
  readonly fitForget: boolean;
  readonly fallback: Fallback;
  readonly threshold: number;
}

/** No upper bound on guess or slip. */
export const NO_BOUNDS: Bounds = Object.freeze({ guess: null, slip: null });

/** The options `fitDataset` uses for anything not given. */
export const DEFAULT_FIT_OPTIONS: FitOptions = Object.freeze({
  restarts: 5,
  pooledRestarts: 1,
  seed: 0,
  shortRuns: 10,
  kicks: 20,
  maxIterations: 100,
  tol: 1e-6,
  bounds: Object.freeze({ guess: 0.3, slip: 0.3 }),
  fixed: Object.freeze({}),
  fitForget: false,
  fallback: 'pooled',
  threshold: DEFAULT_THRESHOLD,
});

/** Iterations of each short run (see FitOptions.shortRuns): enough for the runs' order to settle. */
export const SHORT_RUN_ITERATIONS = 20;

/** Iterations of EM from each kick before it is compared with the best fit (see FitOptions.kicks). */
export const KICK_ITERATIONS = 50;

/** Share of the per-value parameters each kick redraws. */
export const KICK_SHARE = 0.5;

/** Every M-step keeps parameters at least this far from 0 and 1. */
export const PARAM_FLOOR = 1e-6;

/** Fills defaults and validates; throws RangeError naming the option. */
export function makeFitOptions(partial: Partial<FitOptions> = {}): FitOptions {
  const o: FitOptions = { ...DEFAULT_FIT_OPTIONS, ...partial, bounds: { ...DEFAULT_FIT_OPTIONS.bounds, ...partial.bounds } };
  if (!Number.isInteger(o.restarts) || o.restarts < 1) throw new RangeError(`restarts must be an integer >= 1, got ${o.restarts}`);
  if (!Number.isInteger(o.pooledRestarts) || o.pooledRestarts < 1) {
    throw new RangeError(`pooledRestarts must be an integer >= 1, got ${o.pooledRestarts}`);
  }
  if (!Number.isInteger(o.seed) || o.seed < 0 || o.seed > 0xffffffff) {
    throw new RangeError(`seed must be an integer in [0, 2^32), got ${o.seed}`);
  }
  if (!Number.isInteger(o.shortRuns) || o.shortRuns < 1) throw new RangeError(`shortRuns must be an integer >= 1, got ${o.shortRuns}`);
  if (!Number.isInteger(o.kicks) || o.kicks < 0) throw new RangeError(`kicks must be an integer >= 0, got ${o.kicks}`);
  if (!Number.isInteger(o.maxIterations) || o.maxIterations < 1) {
    throw new RangeError(`maxIterations must be an integer >= 1, got ${o.maxIterations}`);
  }
  if (!(o.tol >= 0 && Number.isFinite(o.tol))) throw new RangeError(`tol must be a finite number >= 0, got ${o.tol}`);
  for (const name of ['guess', 'slip'] as const) {
    const b = o.bounds[name];
    if (b !== null && !(b > PARAM_FLOOR && b <= 1)) {
      throw new RangeError(`bounds.${name} must be in (${PARAM_FLOOR}, 1] or null, got ${String(b)}`);
    }
  }
  for (const [name, v] of Object.entries(o.fixed)) {
    if (!(PARAM_NAMES as readonly string[]).includes(name)) throw new RangeError(`fixed: unknown parameter ${name}`);
    const open = name === 'guess' || name === 'slip';
    if (typeof v !== 'number' || !(open ? v > 0 && v < 1 : v >= 0 && v <= 1)) {
      throw new RangeError(`fixed.${name} must be ${open ? 'strictly between 0 and 1' : 'between 0 and 1'}, got ${String(v)}`);
    }
  }
  if (!['pooled', 'defaults', 'none'].includes(o.fallback)) {
    throw new RangeError(`fallback must be pooled, defaults or none, got ${String(o.fallback)}`);
  }
  checkThreshold(o.threshold);
  return o;
}

/** Upper limit of a parameter during fitting: the bound if any, and never above 1 - PARAM_FLOOR. */
export function upperLimit(o: FitOptions, name: 'guess' | 'slip'): number {
  const b = o.bounds[name];
  return b === null ? 1 - PARAM_FLOOR : Math.min(b, 1 - PARAM_FLOOR);
}
