/** The EM options shared by `bkt fit` and `bkt cv`, parsed into the core's FitOptions. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { availableParallelism } from 'node:os';
import { type BktParams, DEFAULT_FIT_OPTIONS, type FitOptions, PARAM_NAMES, type ParamName } from '../bkt/index.js';
import { parseInteger, parseNumber, thresholdOption } from './options.js';
import { addVariantOptions, type VariantCliOptions } from './variant-options.js';

export interface FitCliOptions extends VariantCliOptions {
  restarts: number;
  pooledRestarts: number;
  seed: number;
  shortRuns: number;
  kicks: number;
  maxIterations: number;
  tol: number;
  bounds: { guess: number | null; slip: number | null };
  fix: Partial<BktParams>;
  fitForget: boolean;
  fallback: FitOptions['fallback'];
  threshold?: number;
  threads: number;
}

/** "guess=0.3,slip=0.3", "none", or "guess=0.4,slip=none". */
function parseBounds(text: string): { guess: number | null; slip: number | null } {
  if (text.trim() === 'none') return { guess: null, slip: null };
  const out: { guess: number | null; slip: number | null } = { ...DEFAULT_FIT_OPTIONS.bounds };
  for (const part of text.split(',')) {
    const [name, value] = part.split('=').map((s) => s.trim());
    if (name !== 'guess' && name !== 'slip') {
      throw new InvalidArgumentError(`expected guess=<p>, slip=<p> or none, got "${part}".`);
    }
    if (value === 'none') out[name] = null;
    else {
      const v = Number(value);
      if (!(value !== undefined && value !== '' && v > 0 && v <= 1)) {
        throw new InvalidArgumentError(`${name} bound must be a number in (0, 1] or none, got "${value ?? ''}".`);
      }
      out[name] = v;
    }
  }
  return out;
}

/** Repeatable: --fix prior=0.1 --fix forget=0, or --fix prior=0.1,forget=0. */
function parseFix(text: string, previous: Partial<BktParams>): Partial<BktParams> {
  const out: Record<string, number> = { ...previous };
  for (const part of text.split(',')) {
    const [name, value] = part.split('=').map((s) => s.trim());
    if (!(PARAM_NAMES as readonly string[]).includes(name)) {
      throw new InvalidArgumentError(`expected <parameter>=<value> with a parameter among ${PARAM_NAMES.join(', ')}, got "${part}".`);
    }
    const v = Number(value);
    if (value === undefined || value === '' || !Number.isFinite(v)) {
      throw new InvalidArgumentError(`${name} must be given a number, got "${value ?? ''}".`);
    }
    out[name as ParamName] = v; // ranges are checked by the core (RangeError naming fixed.<name>)
  }
  return out;
}

export function addFitOptions(cmd: Command): Command {
  const d = DEFAULT_FIT_OPTIONS;
  return addVariantOptions(cmd, true)
    .option('--restarts <n>', 'EM starts per concept; the first at the story defaults, the others random', parseInteger(1), d.restarts)
    .option('--pooled-restarts <n>', 'EM starts of the pooled fallback fit (all rows as one concept)', parseInteger(1), d.pooledRestarts)
    .option('--seed <n>', 'seed of the random restarts (results never depend on threads or concept order)', parseInteger(0, 0xffffffff), d.seed)
    .option('--short-runs <n>', 'with --multigs, --multilearn or --multiprior: EM starts per restart, 20 iterations from each, then the best goes on (1 = plain restarts)', parseInteger(1), d.shortRuns)
    .option('--kicks <n>', 'with --multigs, --multilearn or --multiprior: kicks of local search from each concept\'s best restart (0 = none)', parseInteger(0), d.kicks)
    .option('--max-iterations <n>', 'EM iterations at most per start', parseInteger(1), d.maxIterations)
    .option('--tol <x>', 'stop when an iteration gains at most tol * responses in log-likelihood', parseNumber(0, 1), d.tol)
    .addOption(
      new Option('--bounds <spec>', 'upper bounds on guess and slip: "guess=0.3,slip=0.3", "none", or "guess=0.4,slip=none"')
        .argParser(parseBounds)
        .default({ ...d.bounds }, 'guess=0.3,slip=0.3'),
    )
    .addOption(
      new Option('--fix <name=value>', 'hold a parameter at a value instead of fitting it, e.g. --fix prior=0.1 (repeatable)')
        .argParser(parseFix)
        .default({}, 'none'),
    )
    .option('--fit-forget', 'fit the forget parameter too (otherwise it stays 0, standard BKT)', d.fitForget)
    .addOption(
      new Option('--fallback <kind>', 'what concepts that are degenerate or have few data use: a pooled fit of all rows, the story defaults, or none (raw: every concept keeps its own best fit, for comparisons with pyBKT and hmm-scalable)')
        .choices(['pooled', 'defaults', 'none'])
        .default(d.fallback),
    )
    .addOption(thresholdOption(String(d.threshold)))
    .addOption(
      new Option('--threads <n>', 'worker threads for fitting').argParser(parseInteger(1, 1024)).default(
        availableParallelism(),
        "the machine's available parallelism",
      ),
    );
}

/** The core's options from the parsed CLI options. */
export function fitOptionsFrom(o: FitCliOptions): Partial<FitOptions> {
  return {
    restarts: o.restarts,
    pooledRestarts: o.pooledRestarts,
    seed: o.seed,
    shortRuns: o.shortRuns,
    kicks: o.kicks,
    maxIterations: o.maxIterations,
    tol: o.tol,
    bounds: o.bounds,
    fixed: o.fix,
    fitForget: o.fitForget,
    fallback: o.fallback,
    threshold: o.threshold ?? DEFAULT_FIT_OPTIONS.threshold,
  };
}
