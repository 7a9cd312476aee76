/** Tracing a whole data set under a params source: each concept with its fitted params or the fallback. */
import {
  conceptSequences, type ResponseData, traceMastery, traceMasteryByValue, type TraceColumns, type UnseenValues,
} from '../bkt/index.js';
import { type LoadedParams, paramsForConcept } from './params-file.js';

export interface TraceUsage {
  /** Concepts of the data absent from the params file (predicted with the fallback), and their rows. */
  readonly absentConcepts: number;
  readonly absentRows: number;
  /** Concepts present but marked `use: fallback` (degenerate or few data), and their rows. */
  readonly fallbackConcepts: number;
  readonly fallbackRows: number;
  /** With variants: rows (for prior, sequences) whose value was not seen in training and took the concept's own. */
  readonly unseen: UnseenValues;
}

/**
 * Fills per-row columns (indexed like data.responses) and per-sequence final states (indexed like sequences).
 * A concept fitted with variants is traced with its per-value parameters (`data.variants` must carry the columns);
 * `unseenRows`, when given, gets 1 at each row that took the concept's own value for an unseen variant value.
 */
export function traceDataset(
  data: ResponseData,
  source: LoadedParams,
  threshold: number,
  out: TraceColumns,
  unseenRows?: Uint8Array,
): TraceUsage {
  const unseen = { guessSlip: 0, learn: 0, prior: 0 };
  let absentConcepts = 0;
  let absentRows = 0;
  let fallbackConcepts = 0;
  let fallbackRows = 0;
  for (let c = 0; c < data.conceptIds.length; c++) {
    const { params, how } = paramsForConcept(source, data.conceptIds[c]);
    const first = data.conceptSeqs[c];
    const last = data.conceptSeqs[c + 1];
    const rows = data.offsets[last] - data.offsets[first];
    if (how === 'absent') {
      absentConcepts++;
      absentRows += rows;
    } else if (how === 'fallback') {
      fallbackConcepts++;
      fallbackRows += rows;
    }
    const columns = { ...out, finalKnown: out.finalKnown?.subarray(first, last), finalUnknown: out.finalUnknown?.subarray(first, last) };
    const perValue = how === 'fitted' ? source.concepts.get(data.conceptIds[c])?.perValue : undefined;
    if (perValue === undefined) {
      traceMastery(params, conceptSequences(data, c), columns, threshold);
      continue;
    }
    const u = traceMasteryByValue(params, perValue, conceptSequences(data, c), data.variants, columns, threshold, unseenRows);
    unseen.guessSlip += u.guessSlip;
    unseen.learn += u.learn;
    unseen.prior += u.prior;
  }
  return { absentConcepts, absentRows, fallbackConcepts, fallbackRows, unseen };
}
