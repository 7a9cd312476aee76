/** Between a ResponseData's variant columns and the per-value EM of em-variants.ts: its input and its report. */
import { conceptSequences, type ResponseData } from './dataset.js';
import type { ValueModel, ValueSequences } from './em-variants.js';
import { type PerValueParams, valueCount, VARIANT_KINDS, type VariantColumn } from './variants.js';

/** Whether the data carries any variant column (then every concept is fitted with per-value parameters). */
export function hasVariants(data: ResponseData): boolean {
  return data.variants !== undefined && VARIANT_KINDS.some((k) => data.variants![k] !== undefined);
}

let zeros = new Uint32Array(0);

/** All-zero codes of at least n rows (never written: shared by every variant that is not fitted). */
function zeroCodes(n: number): Uint32Array {
  if (zeros.length < n) zeros = new Uint32Array(n);
  return zeros;
}

/** Concept c's sequences with each row's value index per variant (one all-zero value for a variant not fitted). */
export function valueSequences(data: ResponseData, c: number): ValueSequences {
  const v = data.variants ?? {};
  const none = zeroCodes(data.responses.length);
  const seqs = conceptSequences(data, c);
  return {
    responses: seqs.responses,
    offsets: seqs.offsets,
    guessSlip: v.guessSlip?.local ?? none,
    learn: v.learn?.local ?? none,
    prior: v.prior?.local ?? none,
    sizes: {
      guessSlip: Math.max(1, valueCount(v.guessSlip, c)),
      learn: Math.max(1, valueCount(v.learn, c)),
      prior: Math.max(1, valueCount(v.prior, c)),
    },
    varied: { guessSlip: v.guessSlip !== undefined, learn: v.learn !== undefined, prior: v.prior !== undefined },
  };
}

/** The per-value parameters of concept c as reported (value strings, training rows), for the variants fitted. */
export function perValueParams(data: ResponseData, c: number, m: ValueModel): PerValueParams {
  const v = data.variants ?? {};
  const list = <T>(col: VariantColumn, make: (k: number, value: string, rows: number) => T): { column: string; values: T[] } => {
    const values: T[] = [];
    for (let k = 0; k < valueCount(col, c); k++) {
      const at = col.valueStart[c] + k;
      values.push(make(k, col.ids[col.conceptValues[at]], col.valueRows[at]));
    }
    return { column: col.column, values };
  };
  const out: { -readonly [K in keyof PerValueParams]: PerValueParams[K] } = {};
  if (v.guessSlip) out.guessSlip = list(v.guessSlip, (k, value, rows) => ({ value, guess: m.guess[k], slip: m.slip[k], rows }));
  if (v.learn) out.learn = list(v.learn, (k, value, rows) => ({ value, learn: m.learn[k], forget: m.forget[k], rows }));
  if (v.prior) out.prior = list(v.prior, (k, value, sequences) => ({ value, prior: m.prior[k], sequences }));
  return out;
}
