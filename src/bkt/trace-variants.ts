/**
 * traceMastery with per-value parameters (variants.ts): each row's emission from its guess/slip value, the
 * transition after it from its learn value, each sequence's prior from its first row's prior value. A value with no
 * fitted parameters (not seen in training, or an empty cell) takes the concept's own; the counts of those are returned.
 */
import { type BktParams, checkParams, DEFAULT_THRESHOLD } from './params.js';
import { NO_OBSERVATION, type SequenceSet, type TraceColumns } from './trace.js';
import { atMostOne } from './update.js';
import type { PerValueParams, VariantColumn, VariantData, VariantKind } from './variants.js';

/** Rows (for `prior`, sequences) whose value had no fitted parameters and took the concept's own. */
export interface UnseenValues {
  readonly guessSlip: number;
  readonly learn: number;
  readonly prior: number;
}

/** Per row, the index of its parameters in a table whose last entry is the concept's own. */
interface Slots {
  readonly slot: Int32Array;
  readonly unseen: number;
}

/**
 * For the rows of `seqs` that a variant reads (every row, or first rows for `prior`): the position of the row's
 * value in `values`, or `values.length` (the concept's own) when absent or empty; all 0 when the variant is not fitted.
 */
function slotsOf(kind: VariantKind, values: readonly { value: string }[], column: VariantColumn | undefined, seqs: SequenceSet, n: number): Slots {
  const slot = new Int32Array(n);
  if (column === undefined) return { slot, unseen: 0 }; // not fitted: every row takes the one (own) entry
  const index = new Map(values.map((v, k) => [v.value, k]));
  const memo = new Map<number, number>();
  let unseen = 0;
  const { offsets } = seqs;
  const first = offsets[0];
  for (let s = 0; s + 1 < offsets.length; s++) {
    const end = kind === 'prior' ? Math.min(offsets[s] + 1, offsets[s + 1]) : offsets[s + 1];
    for (let t = offsets[s]; t < end; t++) {
      const code = column.codes[t];
      let k = memo.get(code) ?? -1;
      if (k < 0) memo.set(code, (k = index.get(column.ids[code]) ?? values.length));
      if (k === values.length) unseen++;
      slot[t - first] = k;
    }
  }
  return { slot, unseen };
}

/** A parameter per slot: the values' own, then the concept's. */
function table<T>(values: readonly T[] | undefined, pick: (v: T) => number, own: number): Float64Array {
  const out = new Float64Array((values?.length ?? 0) + 1);
  values?.forEach((v, k) => (out[k] = pick(v)));
  out[out.length - 1] = own;
  return out;
}

/**
 * Runs every sequence from its prior under per-value parameters, writing the requested columns (indexed as in
 * traceMastery). `variants` holds the rows' values (a ResponseData's); `perValue` the concept's fitted values.
 * `unseenRows`, when given (indexed like `responses`), gets 1 at each row that took the concept's own value for a
 * variant: its guess/slip or learn value, or (at a sequence's first row) its prior value, was not seen in training.
 */
export function traceMasteryByValue(
  params: BktParams,
  perValue: PerValueParams,
  seqs: SequenceSet,
  variants: VariantData | undefined,
  out: TraceColumns,
  threshold: number = DEFAULT_THRESHOLD,
  unseenRows?: Uint8Array,
): UnseenValues {
  checkParams(params);
  const { responses, offsets } = seqs;
  const nSeq = offsets.length - 1;
  const first = offsets[0];
  const n = offsets[nSeq] - first;
  for (const kind of ['guessSlip', 'learn', 'prior'] as const) {
    if (perValue[kind] !== undefined && variants?.[kind] === undefined) {
      throw new RangeError(`perValue.${kind} is given (column ${perValue[kind]!.column}) but the rows carry no ${kind} values`);
    }
  }
  const gsValues = perValue.guessSlip?.values ?? [];
  const lfValues = perValue.learn?.values ?? [];
  const prValues = perValue.prior?.values ?? [];
  const gs = slotsOf('guessSlip', gsValues, perValue.guessSlip && variants?.guessSlip, seqs, n);
  const lf = slotsOf('learn', lfValues, perValue.learn && variants?.learn, seqs, n);
  const pr = slotsOf('prior', prValues, perValue.prior && variants?.prior, seqs, n);

  const guess = table(gsValues, (v) => v.guess, params.guess);
  const slip = table(gsValues, (v) => v.slip, params.slip);
  const learn = table(lfValues, (v) => v.learn, params.learn);
  const forget = table(lfValues, (v) => v.forget, params.forget);
  const prior = table(prValues, (v) => v.prior, params.prior);
  const { pCorrect, masteryBefore, posterior, masteryAfter, unknownAfter, mastered, finalKnown, finalUnknown } = out;
  for (let s = 0; s < nSeq; s++) {
    let known = offsets[s + 1] === offsets[s] ? params.prior : prior[pr.slot[offsets[s] - first]];
    let unknown = 1 - known;
    for (let t = offsets[s]; t < offsets[s + 1]; t++) {
      const g = gs.slot[t - first];
      const l = lf.slot[t - first];
      const r = responses[t];
      if (pCorrect) pCorrect[t] = atMostOne(known * (1 - slip[g]) + unknown * guess[g]);
      if (masteryBefore) masteryBefore[t] = known;
      let postKnown = known;
      let postUnknown = unknown;
      if (r !== NO_OBSERVATION) {
        const jointKnown = r !== 0 ? known * (1 - slip[g]) : known * slip[g];
        const jointUnknown = r !== 0 ? unknown * guess[g] : unknown * (1 - guess[g]);
        postKnown = jointKnown / (jointKnown + jointUnknown);
        postUnknown = jointUnknown / (jointKnown + jointUnknown);
      }
      known = atMostOne(postKnown * (1 - forget[l]) + postUnknown * learn[l]);
      unknown = atMostOne(postKnown * forget[l] + postUnknown * (1 - learn[l]));
      if (posterior) posterior[t] = postKnown;
      if (masteryAfter) masteryAfter[t] = known;
      if (unknownAfter) unknownAfter[t] = unknown;
      if (mastered) mastered[t] = known >= threshold ? 1 : 0;
    }
    if (finalKnown) finalKnown[s] = known;
    if (finalUnknown) finalUnknown[s] = unknown;
  }
  if (unseenRows) markUnseen(unseenRows, first, [gs, lf, pr], [gsValues.length, lfValues.length, prValues.length], seqs);
  return { guessSlip: gs.unseen, learn: lf.unseen, prior: pr.unseen };
}

function markUnseen(marks: Uint8Array, first: number, slots: Slots[], own: number[], seqs: SequenceSet): void {
  const [gs, lf, pr] = slots;
  const { offsets } = seqs;
  for (let s = 0; s + 1 < offsets.length; s++) {
    for (let t = offsets[s]; t < offsets[s + 1]; t++) {
      const i = t - first;
      const firstRow = t === offsets[s] && pr.slot[i] === own[2] && pr.unseen > 0;
      marks[t] = (gs.unseen > 0 && gs.slot[i] === own[0]) || (lf.unseen > 0 && lf.slot[i] === own[1]) || firstRow ? 1 : 0;
    }
  }
}
