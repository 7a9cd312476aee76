/** The pure parts of a fit job: recomputing a batch of pairs from their history, and describing each concept's outcome. */
import { initialState, traceMastery, updateMastery, type ConceptFit } from '../bkt/index.js';
import type { ConceptFitResult, ReplayPair, ReplayWrite } from './fit-ports.js';
import { forItem, type ResolvedParameters } from './parameters-cache.js';

/**
 * Each pair's state after its whole history under `p`, from the prior: what `bkt predict --final-states` gives, and
 * for a concept with items, each row computed with its item's guess and slip exactly as a live update computes it.
 */
export function replayStates(pairs: readonly ReplayPair[], p: ResolvedParameters, threshold: number): ReplayWrite[] {
  const { params, version: paramsVersion } = p;
  if (p.items.size > 0) {
    return pairs.map((pair) => {
      let state = initialState(params);
      pair.correct.forEach((c, t) => {
        state = updateMastery(state, c === 1, forItem(p, pair.itemIds[t]).params, threshold).state;
      });
      return { studentId: pair.studentId, conceptId: pair.conceptId, state, paramsVersion };
    });
  }
  const offsets = new Uint32Array(pairs.length + 1);
  for (let i = 0; i < pairs.length; i++) offsets[i + 1] = offsets[i] + pairs[i].correct.length;
  const responses = new Uint8Array(offsets[pairs.length]);
  pairs.forEach((p, i) => responses.set(p.correct, offsets[i]));
  const finalKnown = new Float64Array(pairs.length);
  const finalUnknown = new Float64Array(pairs.length);
  traceMastery(params, { responses, offsets }, { finalKnown, finalUnknown }, threshold);
  return pairs.map((p, i) => ({
    studentId: p.studentId,
    conceptId: p.conceptId,
    state: p.correct.length === 0 ? initialState(params) : { known: finalKnown[i], unknown: finalUnknown[i] },
    paramsVersion,
  }));
}

export const CHANGED_DURING_FIT = 'its parameters were changed during the fit';

/** What happened to each fitted concept. */
export function conceptResults(
  fits: readonly ConceptFit[],
  o: {
    readonly versions: ReadonlyMap<string, number>;
    readonly written: ReadonlyMap<string, number>;
    readonly skipped: ReadonlySet<string>;
    readonly replayed: ReadonlyMap<string, number>;
  },
): ConceptFitResult[] {
  return fits.map((c) => {
    const newVersion = o.written.get(c.conceptId) ?? null;
    const changed = o.skipped.has(c.conceptId);
    const { reasons, ...flags } = c.flags;
    return {
      conceptId: c.conceptId,
      outcome: newVersion !== null ? 'applied' : changed ? 'skipped_changed' : 'not_applied_flagged',
      applied: newVersion !== null,
      responses: c.responses,
      students: c.students,
      params: c.params,
      logLik: c.logLik,
      iterations: c.iterations,
      converged: c.converged,
      flags,
      reasons: changed ? [...reasons, CHANGED_DURING_FIT] : reasons,
      previousVersion: o.versions.get(c.conceptId) ?? 0,
      newVersion,
      pairsReplayed: o.replayed.get(c.conceptId) ?? 0,
    };
  });
}

/** A concept left unfitted for having fewer responses than min_responses. */
export function unfittedResult(
  conceptId: string,
  size: { readonly rows: number; readonly students: number },
  minResponses: number,
  version: number,
): ConceptFitResult {
  return {
    conceptId,
    outcome: 'skipped_few_responses',
    applied: false,
    responses: size.rows,
    students: size.students,
    params: null,
    logLik: null,
    iterations: null,
    converged: null,
    flags: null,
    reasons: [`${size.rows} responses < min_responses ${minResponses}`],
    previousVersion: version,
    newVersion: null,
    pairsReplayed: 0,
  };
}
