/**
 * How well predicted P(correct) fits observed answers: log-likelihood, RMSE, accuracy and AUC, over all rows or a
 * subset, and per concept of a ResponseData. AUC counts ties as half (the midrank formula), so it does not depend
 * on row order, and is null when the rows hold only one class.
 */
import type { ResponseData } from './dataset.js';
import { NO_OBSERVATION } from './trace.js';

/** Prediction quality over a set of rows: log-likelihood, RMSE, accuracy and AUC. */
export interface Metrics {
  /** Rows scored (rows with NO_OBSERVATION are skipped). */
  readonly responses: number;
  /** Rows answered correctly. */
  readonly correct: number;
  /** Sum over rows of log P(observed answer). */
  readonly logLik: number;
  /** Root mean squared error of P(correct) against the 0/1 answer. */
  readonly rmse: number;
  /** Share of rows where (P(correct) >= 0.5) equals the answer. */
  readonly accuracy: number;
  /** Area under the ROC curve; null when all rows are correct or all wrong (or there are none). */
  readonly auc: number | null;
}

/** One concept's metrics. */
export interface ConceptMetrics extends Metrics {
  readonly conceptId: string;
}

/** Metrics over all rows and per concept. */
export interface DatasetMetrics {
  readonly overall: Metrics;
  /** In the data's concept order. */
  readonly concepts: readonly ConceptMetrics[];
}

/** Threshold on P(correct) for accuracy. */
export const ACCURACY_THRESHOLD = 0.5;

/**
 * Scores predictions. `rows` selects indices into both arrays; without it, every index of `responses` is scored.
 * For a contiguous range, pass subarrays instead (zero-copy). Rows holding NO_OBSERVATION are skipped.
 */
export function scorePredictions(
  responses: Uint8Array,
  pCorrect: Float64Array,
  rows?: ArrayLike<number>,
): Metrics {
  const n = rows ? rows.length : responses.length;
  if (!rows && pCorrect.length < n) {
    throw new RangeError(`pCorrect has ${pCorrect.length} values for ${n} responses`);
  }
  let correct = 0;
  let wrong = 0;
  let logLik = 0;
  let squared = 0;
  let hits = 0;
  // Predicted values of correct and of wrong rows, sorted separately below for the AUC.
  const pos = new Float64Array(n);
  const neg = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const i = rows ? rows[k] : k;
    const p = pCorrect[i];
    const r = responses[i];
    if (r === NO_OBSERVATION) continue;
    if (r !== 0) {
      pos[correct++] = p;
      logLik += Math.log(p);
      squared += (1 - p) * (1 - p);
      if (p >= ACCURACY_THRESHOLD) hits++;
    } else {
      neg[wrong++] = p;
      logLik += Math.log(1 - p);
      squared += p * p;
      if (p < ACCURACY_THRESHOLD) hits++;
    }
  }
  const scored = correct + wrong;
  return {
    responses: scored,
    correct,
    logLik,
    rmse: scored === 0 ? NaN : Math.sqrt(squared / scored),
    accuracy: scored === 0 ? NaN : hits / scored,
    auc: aucOfSorted(pos.subarray(0, correct).sort(), neg.subarray(0, wrong).sort()),
  };
}

/**
 * AUC from the predicted values of positive and negative rows, each sorted ascending: the share of
 * (positive, negative) pairs ranked right, ties counting half. Equal to the Mann-Whitney U with midranks.
 */
export function aucOfSorted(pos: Float64Array, neg: Float64Array): number | null {
  const nPos = pos.length;
  const nNeg = neg.length;
  if (nPos === 0 || nNeg === 0) return null;
  // Walk positives in ascending order; `below` counts negatives strictly lower, `tied` those equal.
  let pairs = 0;
  let below = 0;
  let i = 0;
  while (i < nPos) {
    const v = pos[i];
    let runEnd = i + 1;
    while (runEnd < nPos && pos[runEnd] === v) runEnd++;
    while (below < nNeg && neg[below] < v) below++;
    let tiedEnd = below;
    while (tiedEnd < nNeg && neg[tiedEnd] === v) tiedEnd++;
    pairs += (runEnd - i) * (below + 0.5 * (tiedEnd - below));
    i = runEnd;
  }
  return pairs / (nPos * nNeg);
}

/** AUC alone (see `scorePredictions`). */
export function auc(responses: Uint8Array, pCorrect: Float64Array, rows?: ArrayLike<number>): number | null {
  return scorePredictions(responses, pCorrect, rows).auc;
}

/**
 * Scores predictions indexed like `data.responses` (grouped order), overall and per concept. Concept c's rows are
 * contiguous in grouped order, so each concept is scored on zero-copy subarrays.
 */
export function evaluateDataset(data: ResponseData, pCorrect: Float64Array): DatasetMetrics {
  const n = data.responses.length;
  if (pCorrect.length !== n) throw new RangeError(`pCorrect has ${pCorrect.length} values for ${n} responses`);
  const concepts: ConceptMetrics[] = [];
  for (let c = 0; c < data.conceptIds.length; c++) {
    const start = data.offsets[data.conceptSeqs[c]];
    const end = data.offsets[data.conceptSeqs[c + 1]];
    const m = scorePredictions(data.responses.subarray(start, end), pCorrect.subarray(start, end));
    concepts.push({ conceptId: data.conceptIds[c], ...m });
  }
  return { overall: scorePredictions(data.responses, pCorrect), concepts };
}

/** Means of per-concept AUCs over the concepts that have one: weighted by rows, and unweighted (macro). */
export function meanConceptAuc(concepts: readonly Metrics[]): { rowWeighted: number | null; macro: number | null } {
  let weighted = 0;
  let rows = 0;
  let sum = 0;
  let count = 0;
  for (const m of concepts) {
    if (m.auc === null) continue;
    weighted += m.auc * m.responses;
    rows += m.responses;
    sum += m.auc;
    count++;
  }
  return { rowWeighted: count === 0 ? null : weighted / rows, macro: count === 0 ? null : sum / count };
}
