/**
 * Whole sequences at once over flat typed arrays: the same arithmetic as `updateMastery`, row by row, with no
 * allocation per row. Rows of sequence i are `responses[offsets[i] .. offsets[i+1])`; offsets are absolute
 * indices into `responses`, so a concept's sequences can be a subarray view of a larger data set's offsets.
 */
import { type BktParams, checkParams, DEFAULT_THRESHOLD } from './params.js';
import { atMostOne } from './update.js';

/**
 * A step with no observed answer (pyBKT's -1): the transition applies, the emission does not, and metrics skip it.
 * Stored in `responses` beside 0 (wrong) and 1 (correct).
 */
export const NO_OBSERVATION = 2;

/**
 * Responses grouped into per-student sequences, in time order within each: 1 = correct, 0 = wrong,
 * NO_OBSERVATION = a step whose answer is unknown.
 */
export interface SequenceSet {
  readonly responses: Uint8Array;
  /** Length = number of sequences + 1; non-decreasing. */
  readonly offsets: Uint32Array;
}

/**
 * Output columns, indexed like `responses` (per-row) or like sequences (`final*`). Every column is optional:
 * pass only what you need. The caller allocates them, once.
 */
export interface TraceColumns {
  pCorrect?: Float64Array;
  masteryBefore?: Float64Array;
  posterior?: Float64Array;
  masteryAfter?: Float64Array;
  /** The exact state's unknown probability after the row (masteryAfter is its known one). */
  unknownAfter?: Float64Array;
  /** 1 where masteryAfter >= threshold. */
  mastered?: Uint8Array;
  /** Per sequence: the exact state after its last row (the prior for an empty sequence). */
  finalKnown?: Float64Array;
  finalUnknown?: Float64Array;
}

export function sequenceCount(seqs: SequenceSet): number {
  return seqs.offsets.length - 1;
}

/** Runs every sequence from the prior under one parameter set, writing the requested columns. */
export function traceMastery(
  params: BktParams,
  seqs: SequenceSet,
  out: TraceColumns,
  threshold: number = DEFAULT_THRESHOLD,
): void {
  checkParams(params);
  const { responses, offsets } = seqs;
  const { learn, guess, slip, forget, prior } = params;
  const { pCorrect, masteryBefore, posterior, masteryAfter, unknownAfter, mastered, finalKnown, finalUnknown } = out;
  const nSeq = offsets.length - 1;
  for (let s = 0; s < nSeq; s++) {
    let known = prior;
    let unknown = 1 - prior;
    const end = offsets[s + 1];
    for (let t = offsets[s]; t < end; t++) {
      const r = responses[t];
      if (pCorrect) pCorrect[t] = atMostOne(known * (1 - slip) + unknown * guess);
      if (masteryBefore) masteryBefore[t] = known;
      let postKnown = known;
      let postUnknown = unknown;
      if (r !== NO_OBSERVATION) {
        const jointKnown = r !== 0 ? known * (1 - slip) : known * slip;
        const jointUnknown = r !== 0 ? unknown * guess : unknown * (1 - guess);
        const evidence = jointKnown + jointUnknown;
        postKnown = jointKnown / evidence;
        postUnknown = jointUnknown / evidence;
      }
      known = atMostOne(postKnown * (1 - forget) + postUnknown * learn);
      unknown = atMostOne(postKnown * forget + postUnknown * (1 - learn));
      if (posterior) posterior[t] = postKnown;
      if (masteryAfter) masteryAfter[t] = known;
      if (unknownAfter) unknownAfter[t] = unknown;
      if (mastered) mastered[t] = known >= threshold ? 1 : 0;
    }
    if (finalKnown) finalKnown[s] = known;
    if (finalUnknown) finalUnknown[s] = unknown;
  }
}
