/**
 * Draws a synthetic response log with per-value parameters (one concept, or several with the same truth): each
 * row's item sets its guess and slip, the item's template sets the learn and forget of the transition after it, and
 * the student's class sets the prior.
 */
import { buildResponseData, type ResponseData } from '../../src/bkt/index.js';
import type { VariantRows } from '../../src/bkt/variants.js';
import { makeRandom } from '../../src/bkt/restarts.js';

export interface VariantTruth {
  /** Per item: guess, slip and its template (index into `templates`). */
  readonly items: readonly { guess: number; slip: number; template: number }[];
  readonly templates: readonly { learn: number; forget: number }[];
  readonly classes: readonly { prior: number }[];
}

/**
 * `students` students of the classes in turn, each with `length` rows of uniformly drawn items; with `concepts` > 1,
 * the students split into that many blocks, one concept each.
 */
export function simulateVariants(truth: VariantTruth, students: number, length: number, seed: number, concepts = 1): ResponseData {
  const rand = makeRandom(seed, 'simulate-variants', 0);
  const n = students * length;
  const student = new Uint32Array(n);
  const correct = new Uint8Array(n);
  const item = new Uint32Array(n);
  const template = new Uint32Array(n);
  const klass = new Uint32Array(n);
  const concept = new Uint32Array(n);
  let t = 0;
  for (let s = 0; s < students; s++) {
    const c = s % truth.classes.length;
    let known = rand() < truth.classes[c].prior;
    for (let i = 0; i < length; i++, t++) {
      const k = Math.floor(rand() * truth.items.length);
      const it = truth.items[k];
      const tp = truth.templates[it.template];
      correct[t] = (known ? rand() >= it.slip : rand() < it.guess) ? 1 : 0;
      known = known ? rand() >= tp.forget : rand() < tp.learn;
      student[t] = s;
      concept[t] = Math.floor((s * concepts) / students);
      item[t] = k;
      template[t] = it.template;
      klass[t] = c;
    }
  }
  const names = (prefix: string, count: number) => Array.from({ length: count }, (_, k) => `${prefix}${k}`);
  const variants: VariantRows = {
    guessSlip: { column: 'item_id', ids: names('i', truth.items.length), codes: item },
    learn: { column: 'template_id', ids: names('t', truth.templates.length), codes: template },
    prior: { column: 'class_id', ids: names('k', truth.classes.length), codes: klass },
  };
  return buildResponseData({
    studentIds: names('s', students),
    conceptIds: names('c', concepts),
    student,
    concept,
    correct,
    variants,
  }).data;
}

/** The same data with only some variants kept. */
export function keepVariants(data: ResponseData, kinds: readonly ('guessSlip' | 'learn' | 'prior')[]): ResponseData {
  const v = data.variants ?? {};
  return { ...data, variants: Object.fromEntries(kinds.filter((k) => v[k]).map((k) => [k, v[k]])) };
}
