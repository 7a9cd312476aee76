/** Rows of bkt_item_parameters to and from ItemParams: one place that names the columns (p_g, p_s, p_t, p_f). */
import type { ItemParams } from '../service/ports.js';

/** The value columns of an item row, in the order statements list them. */
export const ITEM_VALUE_COLUMNS = 'p_g, p_s, p_t, p_f';

/** An item row as read (NULL: the concept's value). */
export interface ItemDbRow {
  readonly item_id: string;
  readonly p_g: number | null;
  readonly p_s: number | null;
  readonly p_t: number | null;
  readonly p_f: number | null;
}

/** One item row to write, at its concept's version. */
export interface ItemRowWrite extends ItemDbRow {
  readonly concept_id: string;
  readonly version: number;
}

export function fromItemRow(r: ItemDbRow): ItemParams {
  return { itemId: r.item_id, guess: r.p_g, slip: r.p_s, learn: r.p_t, forget: r.p_f };
}

export function toItemRow(conceptId: string, version: number, i: ItemParams): ItemRowWrite {
  return { concept_id: conceptId, version, item_id: i.itemId, p_g: i.guess, p_s: i.slip, p_t: i.learn, p_f: i.forget };
}

/** Groups rows that carry their concept by concept, in the order read. */
export function itemsByConcept(rows: readonly (ItemDbRow & { readonly concept_id: string })[]): Map<string, ItemParams[]> {
  const byConcept = new Map<string, ItemParams[]>();
  for (const r of rows) {
    let list = byConcept.get(r.concept_id);
    if (!list) byConcept.set(r.concept_id, (list = []));
    list.push(fromItemRow(r));
  }
  return byConcept;
}

/** Item values equal (null equals null), as a reload compares them. */
export function sameItemValues(a: ItemParams, b: ItemParams): boolean {
  return a.guess === b.guess && a.slip === b.slip && a.learn === b.learn && a.forget === b.forget;
}
