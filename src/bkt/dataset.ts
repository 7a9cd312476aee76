/**
 * A whole response log in flat typed arrays, grouped for BKT: rows sorted by concept, then by student, with
 * each (student, concept) sequence contiguous and in time order. Everything downstream (trace, EM, evaluation,
 * cross-validation, worker threads) reads these arrays; `rowOf` maps back to the input order.
 */
import type { SequenceSet } from './trace.js';
import type { VariantData } from './variants.js';

/** A response log grouped by concept then (student) sequence, as flat typed arrays with offsets. */
export interface ResponseData extends SequenceSet {
  /** Per row, 1 = correct. Grouped: concept 0's sequences first, and so on. */
  readonly responses: Uint8Array;
  /** Sequence boundaries into `responses`, length nSequences + 1. */
  readonly offsets: Uint32Array;
  /** Sequence-index boundaries per concept, length nConcepts + 1: concept c owns sequences [conceptSeqs[c], conceptSeqs[c+1]). */
  readonly conceptSeqs: Uint32Array;
  /** Concept id per concept index. */
  readonly conceptIds: readonly string[];
  /** Student index per sequence (into `studentIds`). */
  readonly seqStudent: Uint32Array;
  readonly studentIds: readonly string[];
  /** Input row number (0-based, data rows only) of each grouped row. */
  readonly rowOf: Uint32Array;
  /** The value columns of the model variants, when fitted (see variants.ts); absent for standard BKT. */
  readonly variants?: VariantData;
}

/** The sequences of one concept, as a zero-copy view (offsets stay absolute). */
export function conceptSequences(data: ResponseData, c: number): SequenceSet {
  return {
    responses: data.responses,
    offsets: data.offsets.subarray(data.conceptSeqs[c], data.conceptSeqs[c + 1] + 1),
  };
}
