/**
 * The model variants of pyBKT (KT-IDEM and friends): guess and slip per value of a column (`guessSlip`, e.g. per
 * item), learn and forget per value (`learn`, the transition after a row of that value, as pyBKT's resources), and
 * prior per value at a sequence's first row (`prior`, e.g. per class). A response log carries one column of values
 * per variant; grouping keeps it in grouped order and indexes, per concept, the values seen there.
 */
import type { BktParams } from './params.js';

/** The three variants, by the parameters that vary. */
export type VariantKind = 'guessSlip' | 'learn' | 'prior';

/** The three variant kinds, in the order files and tables list them. */
export const VARIANT_KINDS: readonly VariantKind[] = ['guessSlip', 'learn', 'prior'];

/** One variant's column in input order: values interned in `ids`, and a code (index into `ids`) per row. */
export interface RowValues {
  /** The column's name, for files and messages. */
  readonly column: string;
  readonly ids: readonly string[];
  readonly codes: Uint32Array;
}

/** The value columns of a response log, one per variant fitted (absent kinds are standard BKT). */
export type VariantRows = { readonly [K in VariantKind]?: RowValues };

/**
 * One variant's column in grouped order, indexed per concept. Concept c's values are the global ids
 * `conceptValues[valueStart[c] .. valueStart[c+1])`, sorted by their string; `local[t]` is row t's position in that
 * list (for `prior`, only a sequence's first row counts, and only first rows' values are listed).
 */
export interface VariantColumn extends RowValues {
  /** Per grouped row: index into `ids`. */
  readonly codes: Uint32Array;
  /** Per grouped row: index among its concept's values (for `prior`, meaningful at first rows only). */
  readonly local: Uint32Array;
  readonly valueStart: Uint32Array;
  readonly conceptValues: Uint32Array;
  /** Per entry of `conceptValues`: the rows (for `prior`, the sequences) holding it. */
  readonly valueRows: Uint32Array;
}

/** The variant columns of a ResponseData. */
export type VariantData = { readonly [K in VariantKind]?: VariantColumn };

/** The grouped layout a variant column is indexed over (a subset of ResponseData). */
interface Grouping {
  readonly offsets: Uint32Array;
  readonly conceptSeqs: Uint32Array;
}

/**
 * Indexes one variant column given in grouped order (`codes[t]` for grouped row t): per concept, its values sorted
 * by string and each row's position among them.
 */
export function indexVariantColumn(kind: VariantKind, column: string, ids: readonly string[], codes: Uint32Array, g: Grouping): VariantColumn {
  const nConcepts = g.conceptSeqs.length - 1;
  const local = new Uint32Array(codes.length);
  const valueStart = new Uint32Array(nConcepts + 1);
  const lists: Uint32Array[] = [];
  const counts: Uint32Array[] = [];
  const slot = new Int32Array(ids.length).fill(-1);
  for (let c = 0; c < nConcepts; c++) {
    const seen: number[] = [];
    const rowsOf: number[] = [];
    const visit = (t: number) => {
      const id = codes[t];
      if (slot[id] < 0) {
        slot[id] = seen.length;
        seen.push(id);
        rowsOf.push(0);
      }
      rowsOf[slot[id]]++;
    };
    forEachRow(kind, g, c, visit);
    const order = seen.map((_, k) => k).sort((a, b) => compareStrings(ids[seen[a]], ids[seen[b]]));
    const rank = new Uint32Array(seen.length);
    order.forEach((k, r) => (rank[k] = r));
    forEachRow(kind, g, c, (t) => (local[t] = rank[slot[codes[t]]]));
    for (const id of seen) slot[id] = -1;
    lists.push(Uint32Array.from(order, (k) => seen[k]));
    counts.push(Uint32Array.from(order, (k) => rowsOf[k]));
    valueStart[c + 1] = valueStart[c] + seen.length;
  }
  const conceptValues = new Uint32Array(valueStart[nConcepts]);
  const valueRows = new Uint32Array(valueStart[nConcepts]);
  for (let c = 0; c < nConcepts; c++) {
    conceptValues.set(lists[c], valueStart[c]);
    valueRows.set(counts[c], valueStart[c]);
  }
  return { column, ids, codes, local, valueStart, conceptValues, valueRows };
}

/** Visits concept c's rows that inform a variant: every row, or each non-empty sequence's first row for `prior`. */
function forEachRow(kind: VariantKind, g: Grouping, c: number, visit: (t: number) => void): void {
  for (let s = g.conceptSeqs[c]; s < g.conceptSeqs[c + 1]; s++) {
    const start = g.offsets[s];
    const end = g.offsets[s + 1];
    if (kind === 'prior') {
      if (end > start) visit(start);
    } else {
      for (let t = start; t < end; t++) visit(t);
    }
  }
}

/** Code-unit string order (as JavaScript's default sort), which is what files list values in. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Every variant column of `rows` re-indexed in grouped order: `rowAt[t]` is the source row of grouped row t. */
export function groupVariants(variants: VariantRows | undefined, rowAt: Uint32Array, g: Grouping): VariantData | undefined {
  if (variants === undefined) return undefined;
  const out: { [K in VariantKind]?: VariantColumn } = {};
  for (const kind of VARIANT_KINDS) {
    const v = variants[kind];
    if (v === undefined) continue;
    const codes = new Uint32Array(rowAt.length);
    for (let t = 0; t < rowAt.length; t++) codes[t] = v.codes[rowAt[t]];
    out[kind] = indexVariantColumn(kind, v.column, v.ids, codes, g);
  }
  return out;
}

/** The number of values concept c has for a variant (0 when the variant is not fitted). */
export function valueCount(column: VariantColumn | undefined, c: number): number {
  return column === undefined ? 0 : column.valueStart[c + 1] - column.valueStart[c];
}

/** A concept's guess and slip for one value of its column, with the training rows that hold the value. */
export interface GuessSlipValue {
  readonly value: string;
  readonly guess: number;
  readonly slip: number;
  readonly rows: number;
}

/** A concept's learn and forget after a row holding one value, with the training rows that hold it. */
export interface LearnValue {
  readonly value: string;
  readonly learn: number;
  readonly forget: number;
  readonly rows: number;
}

/** A concept's prior for sequences whose first row holds one value, with the training sequences that do. */
export interface PriorValue {
  readonly value: string;
  readonly prior: number;
  readonly sequences: number;
}

/** One concept's per-value parameters, for the variants fitted; values sorted by string. */
export interface PerValueParams {
  readonly guessSlip?: { readonly column: string; readonly values: readonly GuessSlipValue[] };
  readonly learn?: { readonly column: string; readonly values: readonly LearnValue[] };
  readonly prior?: { readonly column: string; readonly values: readonly PriorValue[] };
}

/** Which values a single row holds, by variant (undefined or '' = none: the concept's own value applies). */
export type RowVariantValues = { readonly [K in VariantKind]?: string | null };

/**
 * The parameters that apply to one row: guess and slip of its `guessSlip` value, learn and forget of its `learn`
 * value (the transition after the row), prior of its `prior` value (used only at a sequence's first row). A value
 * absent from `perValue` takes the concept's own `params`. With `updateMastery`, this gives the exact per-row update.
 */
export function paramsForRow(params: BktParams, perValue: PerValueParams | undefined, values: RowVariantValues): BktParams {
  if (perValue === undefined) return params;
  const gs = find(perValue.guessSlip?.values, values.guessSlip);
  const lf = find(perValue.learn?.values, values.learn);
  const pr = find(perValue.prior?.values, values.prior);
  return {
    prior: pr?.prior ?? params.prior,
    learn: lf?.learn ?? params.learn,
    guess: gs?.guess ?? params.guess,
    slip: gs?.slip ?? params.slip,
    forget: lf?.forget ?? params.forget,
  };
}

/** Binary search of a value in a list sorted by value. */
function find<T extends { readonly value: string }>(list: readonly T[] | undefined, value: string | null | undefined): T | undefined {
  if (list === undefined || value === undefined || value === null || value === '') return undefined;
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = compareStrings(list[mid].value, value);
    if (c === 0) return list[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}
