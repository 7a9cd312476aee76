/**
 * Fitting a whole data set: every concept's restarts, the choice of the best, the flags, and the fallback for
 * concepts that cannot be trusted. The unit of work is one (concept, restart) pair, and with per-value parameters
 * one concept's kicks after its restarts, so a worker pool can run them in any order and on any thread and
 * `assembleFit` still gives the same answer.
 */
import { type BktParams, DEFAULT_PARAMS, PARAM_NAMES } from './params.js';
import { type FitOptions, makeFitOptions } from './options.js';
import { type EmResult, maxSequenceLength, runEm, countRows, logLikelihood } from './em.js';
import { kickRandom, restartStart, shortRunStart } from './restarts.js';
import {
  degeneracyReasons, masteryAdvice, opportunitiesToMastery, type QualityFlags, qualityFlags,
} from './quality.js';
import { conceptSequences, type ResponseData } from './dataset.js';
import type { SequenceSet } from './trace.js';
import { kickByValue, runEmByValue, type ValueModel } from './em-variants.js';
import { hasVariants, perValueParams, valueSequences } from './fit-variants.js';
import type { PerValueParams } from './variants.js';

/** Index of the pooled fit (all rows of all concepts as one concept) in a plan. */
export const POOLED = -1;
/** Key the pooled fit's restarts are seeded with. */
export const POOLED_KEY = '\u0000pooled';

export interface FitUnit {
  /** Concept index, or POOLED. */
  readonly concept: number;
  readonly restart: number;
  /** Rows to process per iteration: larger units are scheduled first. */
  readonly rows: number;
}

export interface RestartOutcome extends EmResult {
  readonly restart: number;
  readonly degenerate: boolean;
  /** With variants: the parameters of every value (`params` then holds the concept's own). */
  readonly values?: ValueModel;
  /** With variants: E-steps run in all, short runs included (otherwise iterations + 1). */
  readonly eSteps?: number;
}

/** One concept's EM result: its parameters, log-likelihood, convergence, restarts, data size, flags and whether it is used. */
export interface ConceptFit {
  readonly conceptId: string;
  readonly params: BktParams;
  readonly logLik: number;
  readonly iterations: number;
  readonly converged: boolean;
  readonly restarts: number;
  /** Index of the restart chosen. */
  readonly bestRestart: number;
  readonly responses: number;
  readonly students: number;
  /** Best minus second-best restart: log-likelihood, and the largest absolute parameter difference. */
  readonly gap: { logLik: number; params: number } | null;
  /** (1 - prior) / learn; null when learn is 0 or mastery is unreachable. */
  readonly opportunitiesToMastery: number | null;
  /** Correct answers in a row from the prior to reach the threshold; null when unreachable. */
  readonly correctToMastery: number | null;
  /** The most P(L) can reach: its limit under an endless run of correct answers. */
  readonly masteryCeiling: number;
  readonly flags: QualityFlags;
  /** Advisories about the mastery policy, with their numbers: reported, never a reason for the fallback. */
  readonly advisories: readonly string[];
  /** `fallback`: this concept's own fit is degenerate or has too little data, and the fallback is used instead. */
  readonly use: 'fitted' | 'fallback';
  /**
   * With variants: the parameters of every value seen in training; `params` are the concept's own values, used for
   * values not seen (see em-variants.ts's ownParams). The pooled fallback fit is always standard BKT.
   */
  readonly perValue?: PerValueParams;
}

/** The parameters used by concepts whose own fit is not used, and where they come from. */
export interface FallbackFit {
  /** Where the fallback parameters come from. */
  readonly source: 'pooled' | 'defaults' | 'none';
  readonly params: BktParams;
  /** The pooled fit itself, when one was made. */
  readonly pooled: ConceptFit | null;
}

/** The result of fitting every concept of a data set, with the options and the fallback. */
export interface DatasetFit {
  readonly options: FitOptions;
  readonly concepts: ConceptFit[];
  readonly fallback: FallbackFit;
  readonly responses: number;
  /** Sum of each concept's log-likelihood under the parameters it uses. */
  readonly logLik: number;
  /** Row-iterations of EM actually run (rows times E-steps, summed over units). */
  readonly rowIterations: number;
}

/** The sequences a unit works on. */
export function unitSequences(data: ResponseData, concept: number): SequenceSet {
  // Always the same two-field shape, so the E-step's property reads stay monomorphic for V8.
  return concept === POOLED ? { responses: data.responses, offsets: data.offsets } : conceptSequences(data, concept);
}

export function unitKey(data: ResponseData, concept: number): string {
  return concept === POOLED ? POOLED_KEY : data.conceptIds[concept];
}

/** Every (concept, restart) unit, largest first (ties in concept then restart order, so the plan is stable). */
export function planFit(data: ResponseData, o: FitOptions): FitUnit[] {
  const units: FitUnit[] = [];
  const concepts = data.conceptIds.map((_, c) => c);
  if (o.fallback === 'pooled') concepts.push(POOLED);
  for (const c of concepts) {
    const rows = countRows(unitSequences(data, c));
    if (rows === 0) continue;
    const restarts = c === POOLED ? o.pooledRestarts : o.restarts;
    for (let r = 0; r < restarts; r++) units.push({ concept: c, restart: r, rows });
  }
  return units.sort((a, b) => b.rows - a.rows || a.concept - b.concept || a.restart - b.restart);
}

/** Runs one unit. Pure: the same unit gives the same result on any thread. */
export function runUnit(data: ResponseData, unit: FitUnit, o: FitOptions, alpha?: Float64Array): RestartOutcome {
  const key = unitKey(data, unit.concept);
  const scratch = alpha ? { alpha } : undefined;
  const em = unit.concept !== POOLED && hasVariants(data)
    ? runEmByValue(
        valueSequences(data, unit.concept),
        Array.from({ length: o.shortRuns }, (_, j) => shortRunStart(o, key, unit.restart, j)),
        o,
        scratch,
      )
    : runEm(unitSequences(data, unit.concept), restartStart(o, key, unit.restart), o, scratch);
  const degenerate = degeneracyReasons(em.params).length > 0;
  return { ...em, restart: unit.restart, degenerate };
}

/**
 * One concept's kicks (models with per-value parameters): a unit of work of its own, run once every restart of the
 * concept is done, on any thread. Seeded by (seed, concept id) alone, so it gives the same result anywhere.
 */
export interface KickUnit {
  readonly concept: number;
  /** Rows per iteration, as in FitUnit: larger units are scheduled first. */
  readonly rows: number;
  /** The restart the kicks start from: the best eligible one, as summarizeConcept would pick it. */
  readonly from: RestartOutcome;
}

/** What a concept's kicks found. */
export interface KickOutcome {
  readonly concept: number;
  /** E-steps the kicks ran. */
  readonly eSteps: number;
  /** A better outcome, which replaces restart `from.restart`; null when no kick beat it. */
  readonly better: RestartOutcome | null;
}

/** The restart outcomes of each unit's concept, in the order given. */
function outcomesByConcept(results: ReadonlyArray<{ unit: FitUnit; outcome: RestartOutcome }>): Map<number, RestartOutcome[]> {
  const byConcept = new Map<number, RestartOutcome[]>();
  for (const { unit, outcome } of results) {
    let list = byConcept.get(unit.concept);
    if (!list) byConcept.set(unit.concept, (list = []));
    list.push(outcome);
  }
  return byConcept;
}

/** The kick units of a fit once its restarts are done (none without variants or kicks), largest first. */
export function planKicks(data: ResponseData, o: FitOptions, results: ReadonlyArray<{ unit: FitUnit; outcome: RestartOutcome }>): KickUnit[] {
  if (o.kicks <= 0 || !hasVariants(data)) return [];
  const units: KickUnit[] = [];
  for (const [c, list] of outcomesByConcept(results)) {
    if (c === POOLED) continue;
    const eligible = list.filter((x) => x.values && (o.fallback === 'none' || !x.degenerate));
    if (eligible.length === 0) continue;
    const from = eligible.reduce((a, b) => (b.logLik > a.logLik || (b.logLik === a.logLik && b.restart < a.restart) ? b : a));
    units.push({ concept: c, rows: countRows(conceptSequences(data, c)), from });
  }
  return units.sort((a, b) => b.rows - a.rows || a.concept - b.concept);
}

/** Runs one concept's kicks. Pure: the same unit gives the same result on any thread. */
export function runKick(data: ResponseData, unit: KickUnit, o: FitOptions): KickOutcome {
  const { concept, from } = unit;
  const start = { ...from, values: from.values!, eSteps: 0 };
  const em = kickByValue(valueSequences(data, concept), start, o, kickRandom(o, data.conceptIds[concept]));
  const degenerate = degeneracyReasons(em.params).length > 0;
  const better = em.logLik > from.logLik && (o.fallback === 'none' || !degenerate);
  return { concept, eSteps: em.eSteps, better: better ? { ...em, restart: from.restart, degenerate } : null };
}

function dataSize(data: ResponseData, concept: number) {
  const seqs = unitSequences(data, concept);
  const { offsets } = seqs;
  let longSequences = 0;
  let students = 0;
  for (let s = 0; s + 1 < offsets.length; s++) {
    const len = offsets[s + 1] - offsets[s];
    if (len > 0) students++;
    if (len >= 2) longSequences++;
  }
  // The pooled set holds one sequence per (student, concept): count its distinct students.
  if (concept === POOLED) students = new Set(data.seqStudent).size;
  return { responses: countRows(seqs), students, longSequences };
}

/** Picks the best restart (among non-degenerate ones unless raw) and reports the concept. */
export function summarizeConcept(
  data: ResponseData,
  concept: number,
  outcomes: readonly RestartOutcome[],
  o: FitOptions,
): ConceptFit {
  const conceptId = concept === POOLED ? 'pooled' : data.conceptIds[concept];
  const size = dataSize(data, concept);
  const byLogLik = [...outcomes].sort((a, b) => b.logLik - a.logLik || a.restart - b.restart);
  const eligible = o.fallback === 'none' ? byLogLik : byLogLik.filter((x) => !x.degenerate);
  const ranked = eligible.length > 0 ? eligible : byLogLik;
  const best = ranked[0];
  const second = ranked[1];
  const advice = masteryAdvice(best.params, o.threshold);
  const flags = qualityFlags(best.params, o, size, advice);
  const gap = second
    ? {
        logLik: best.logLik - second.logLik,
        params: Math.max(...PARAM_NAMES.map((n) => Math.abs(best.params[n] - second.params[n]))),
      }
    : null;
  const untrusted = flags.degenerate || flags.few_data;
  return {
    conceptId,
    params: best.params,
    logLik: best.logLik,
    iterations: best.iterations,
    converged: best.converged,
    restarts: outcomes.length,
    bestRestart: best.restart,
    responses: size.responses,
    students: size.students,
    gap,
    opportunitiesToMastery: opportunitiesToMastery(best.params, o.threshold),
    correctToMastery: advice.correctToMastery,
    masteryCeiling: advice.ceiling,
    flags,
    advisories: advice.advisories,
    use: untrusted && o.fallback !== 'none' ? 'fallback' : 'fitted',
    ...(best.values && concept !== POOLED ? { perValue: perValueParams(data, concept, best.values) } : {}),
  };
}

/** Builds the data set's result from every unit's outcome and every concept's kicks (each in any order). */
export function assembleFit(
  data: ResponseData,
  o: FitOptions,
  results: ReadonlyArray<{ unit: FitUnit; outcome: RestartOutcome }>,
  kicks: ReadonlyArray<{ unit: KickUnit; outcome: KickOutcome }>,
): DatasetFit {
  const byConcept = outcomesByConcept(results);
  let rowIterations = 0;
  for (const { unit, outcome } of results) rowIterations += unit.rows * (outcome.eSteps ?? outcome.iterations + 1);
  for (const { unit, outcome } of kicks) {
    rowIterations += unit.rows * outcome.eSteps;
    if (outcome.better === null) continue;
    const list = byConcept.get(unit.concept)!;
    list[list.findIndex((x) => x.restart === unit.from.restart)] = outcome.better;
  }
  const summarize = (c: number) => summarizeConcept(data, c, byConcept.get(c)!, o);
  const pooled = byConcept.has(POOLED) ? summarize(POOLED) : null;
  let fallback: FallbackFit;
  if (o.fallback === 'pooled' && pooled && !pooled.flags.degenerate) {
    fallback = { source: 'pooled', params: pooled.params, pooled };
  } else if (o.fallback === 'none') {
    fallback = { source: 'none', params: DEFAULT_PARAMS, pooled: null };
  } else {
    fallback = { source: 'defaults', params: DEFAULT_PARAMS, pooled };
  }
  const concepts: ConceptFit[] = [];
  let logLik = 0;
  let responses = 0;
  for (let c = 0; c < data.conceptIds.length; c++) {
    const seqs = conceptSequences(data, c);
    const rows = countRows(seqs);
    responses += rows;
    if (!byConcept.has(c)) continue; // a concept with no rows has nothing to fit
    const fit = summarize(c);
    concepts.push(fit);
    logLik += fit.use === 'fitted' ? fit.logLik : logLikelihood(seqs, fallback.params);
  }
  return { options: o, concepts, fallback, responses, logLik, rowIterations };
}

/** Fits every concept on this thread. `src/fitting` runs the same units on worker threads. */
export function fitDataset(data: ResponseData, options: Partial<FitOptions> = {}): DatasetFit {
  const o = makeFitOptions(options);
  const alpha = new Float64Array(2 * maxSequenceLength(data));
  const results = planFit(data, o).map((unit) => ({ unit, outcome: runUnit(data, unit, o, alpha) }));
  const kicks = planKicks(data, o, results).map((unit) => ({ unit, outcome: runKick(data, unit, o) }));
  return assembleFit(data, o, results, kicks);
}

/** The parameters a concept should be predicted with: its own fit when used, otherwise the fallback. */
export function paramsFor(fit: DatasetFit, conceptId: string): { params: BktParams; source: 'fitted' | 'fallback' } {
  const c = fit.concepts.find((x) => x.conceptId === conceptId);
  if (c && c.use === 'fitted') return { params: c.params, source: 'fitted' };
  return { params: fit.fallback.params, source: 'fallback' };
}
