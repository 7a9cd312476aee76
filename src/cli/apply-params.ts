/** Tracing a whole data set under a params source: each concept with its fitted params or the fallback. */
import { conceptSequences, type ResponseData, traceMastery, type TraceColumns } from '../bkt/index.js';
import { type LoadedParams, paramsForConcept } from './params-file.js';

export interface TraceUsage {
  /** Concepts of the data absent from the params file (predicted with the fallback), and their rows. */
  readonly absentConcepts: number;
  readonly absentRows: number;
  /** Concepts present but marked `use: fallback` (degenerate or few data), and their rows. */
  readonly fallbackConcepts: number;
  readonly fallbackRows: number;
}

/** Fills per-row columns (indexed like data.responses) and per-sequence final states (indexed like sequences). */
export function traceDataset(
  data: ResponseData,
  source: LoadedParams,
  threshold: number,
  out: TraceColumns,
): TraceUsage {
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
    traceMastery(params, conceptSequences(data, c), {
      ...out,
      finalKnown: out.finalKnown?.subarray(first, last),
      finalUnknown: out.finalUnknown?.subarray(first, last),
    }, threshold);
  }
  return { absentConcepts, absentRows, fallbackConcepts, fallbackRows };
}
