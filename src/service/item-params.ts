/**
 * An item's own parameters: taken from a fit's per-value parameters (multigs, multilearn by item), and laid over its
 * concept's to give the full set an answer to the item is computed with.
 */
import { makeParams, type BktParams, type PerValueParams } from '../bkt/index.js';
import type { ItemParams } from './ports.js';

/**
 * An item's full parameter set: the concept's, with the item's guess and slip (the emission of an answer to it) and
 * learn and forget (the transition after that answer) where it has them, as the core's `paramsForRow` takes a row's
 * guess/slip and learn values.
 */
export function itemParams(concept: BktParams, i: ItemParams): BktParams {
  return makeParams({
    prior: concept.prior,
    learn: i.learn ?? concept.learn,
    guess: i.guess ?? concept.guess,
    slip: i.slip ?? concept.slip,
    forget: i.forget ?? concept.forget,
  });
}

/**
 * A concept's per-value guess/slip and learn/forget (both by item) as items, sorted by item id: an item fitted by one
 * variant only has null for the other's values. Rows without an item were fitted as one value of their own (the empty
 * id, as an empty cell in `bkt fit`), but answers without an item use the concept's parameters, so that value is not
 * an item.
 */
export function itemsOfFit(perValue: PerValueParams | undefined): ItemParams[] {
  const byId = new Map<string, { guess: number | null; slip: number | null; learn: number | null; forget: number | null }>();
  const entry = (id: string) => {
    let e = byId.get(id);
    if (!e) byId.set(id, (e = { guess: null, slip: null, learn: null, forget: null }));
    return e;
  };
  for (const v of perValue?.guessSlip?.values ?? []) {
    if (v.value === '') continue;
    Object.assign(entry(v.value), { guess: v.guess, slip: v.slip });
  }
  for (const v of perValue?.learn?.values ?? []) {
    if (v.value === '') continue;
    Object.assign(entry(v.value), { learn: v.learn, forget: v.forget });
  }
  return [...byId].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([itemId, e]) => ({ itemId, ...e }));
}
