/** A variant fit's kicks run on the worker pool, and an abort stops them there as it stops the restarts. */
import { describe, expect, it } from 'vitest';
import { buildResponseData, fitDataset } from '../../src/bkt/index.js';
import { makeRandom } from '../../src/bkt/restarts.js';
import { fitDatasetParallel } from '../../src/fitting/parallel.js';
import { keepVariants, simulateVariants, type VariantTruth } from '../support/simulate-variants.js';

const TRUTH: VariantTruth = {
  items: [
    { guess: 0.1, slip: 0.1, template: 0 },
    { guess: 0.3, slip: 0.05, template: 0 },
    { guess: 0.2, slip: 0.2, template: 1 },
  ],
  templates: [{ learn: 0.2, forget: 0 }, { learn: 0.1, forget: 0 }],
  classes: [{ prior: 0.3 }],
};
const data = keepVariants(simulateVariants(TRUTH, 600, 10, 11, 3), ['guessSlip']);
/** Concept 0 has 2 students, concepts 1 and 2 have 300; 10 random answers each, to items of 5 per concept. */
function unequalConcepts(): ReturnType<typeof buildResponseData>['data'] {
  const rand = makeRandom(5, 'unequal', 0);
  const sizes = [2, 300, 300];
  const student: number[] = [];
  const concept: number[] = [];
  const item: number[] = [];
  const correct: number[] = [];
  let s = 0;
  sizes.forEach((students, c) => {
    for (let k = 0; k < students; k++, s++) {
      for (let t = 0; t < 10; t++) {
        student.push(s);
        concept.push(c);
        item.push(5 * c + Math.floor(rand() * 5));
        correct.push(rand() < 0.6 ? 1 : 0);
      }
    }
  });
  return buildResponseData({
    studentIds: Array.from({ length: s }, (_, k) => `s${k}`),
    conceptIds: ['c0', 'c1', 'c2'],
    student: Uint32Array.from(student),
    concept: Uint32Array.from(concept),
    correct: Uint8Array.from(correct),
    variants: { guessSlip: { column: 'item_id', ids: Array.from({ length: 15 }, (_, k) => `i${k}`), codes: Uint32Array.from(item) } },
  }).data;
}
const unequal = unequalConcepts();
const ON_WORKERS = { threads: 2, minRowsPerThread: 0, callerWorks: false } as const;

describe('kicks on the worker pool', () => {
  it('report each concept, and give the fit of this thread', async () => {
    const seen: number[] = [];
    const fit = await fitDatasetParallel(data, { ...ON_WORKERS, restarts: 2, kicks: 3, onKicks: (p) => seen.push(p.concepts) });
    expect(seen).toEqual([1, 2, 3]);
    const here = fitDataset(data, { restarts: 2, kicks: 3 });
    expect(fit.concepts).toEqual(here.concepts);
    expect(fit.rowIterations).toBe(here.rowIterations);
  });

  it('stop when the signal aborts while the kicks run', async () => {
    // Three workers, one kick unit each: the tiny concept's kicks end at once, the large ones' would run for long.
    const controller = new AbortController();
    const reason = new Error('stop');
    const running = fitDatasetParallel(unequal, {
      threads: 3, minRowsPerThread: 0, callerWorks: false, restarts: 1, kicks: 5000, signal: controller.signal,
      onKicks: () => controller.abort(reason),
    });
    await expect(running).rejects.toBe(reason);
  });
});
