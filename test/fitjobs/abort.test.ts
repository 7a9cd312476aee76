/** fitDatasetParallel stops its workers when its signal is aborted (a fit job's service shutting down). */
import { describe, expect, it } from 'vitest';
import { fitDataset } from '../../src/bkt/index.js';
import { fitDatasetParallel } from '../../src/fitting/parallel.js';
import { simulate } from '../support/simulate.js';

const P = { prior: 0.3, learn: 0.15, guess: 0.2, slip: 0.1, forget: 0 };

describe('fitDatasetParallel with a signal', () => {
  it('rejects with the reason when aborted, and fits normally when not', async () => {
    const data = simulate([P, P, P, P], 400, 30, 7);
    const controller = new AbortController();
    const running = fitDatasetParallel(data, { threads: 2, minRowsPerThread: 0, callerWorks: false, restarts: 20, signal: controller.signal });
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(running).rejects.toBe(reason);
    await expect(fitDatasetParallel(data, { threads: 1, signal: controller.signal })).rejects.toBe(reason);

    const whole = await fitDatasetParallel(data, { threads: 2, minRowsPerThread: 0, callerWorks: false, restarts: 2, signal: new AbortController().signal });
    expect(whole.concepts.map((c) => c.params)).toEqual(fitDataset(data, { restarts: 2 }).concepts.map((c) => c.params));
  });
});
