/**
 * The core's EM against the reference fitters on real data, in raw mode (each concept's best restart by
 * log-likelihood alone, as other tools report):
 *  - unbounded, the total training log-likelihood is at least pyBKT's (pyBKT stops early, see golden/README.md);
 *  - bounded at guess, slip <= 0.3, the total negative log-likelihood is at most hmm-scalable's.
 * Reference figures are read from ../shared/data/golden, not copied here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fitDatasetParallel } from '../src/fitting/parallel.js';
import { dataPath } from './support/data.js';
import { loadResponses } from './support/load.js';

const pybkt = JSON.parse(readFileSync(dataPath('golden/pybkt_fit_summary.json'), 'utf8')) as Record<
  string,
  { training_loglik_total: number }
>;

/** "ct_pybkt 10184.40, assist2009_pybkt_subset 5769.33, ..." from the golden README. */
function hmmScalableNll(): Map<string, number> {
  const text = readFileSync(dataPath('golden/README.md'), 'utf8');
  const from = text.indexOf('reaches these total negative log-likelihoods');
  const sentence = text.slice(from, text.indexOf('.\n', from));
  const out = new Map<string, number>();
  for (const m of sentence.matchAll(/([a-z0-9_]+) (\d+\.\d+)/g)) out.set(m[1], Number(m[2]));
  return out;
}

describe('raw mode, unbounded, against pyBKT', () => {
  it.each(['ct_pybkt', 'assist2009_pybkt_subset'])('%s: total log-likelihood >= pyBKT', async (name) => {
    const fit = await fitDatasetParallel(loadResponses(`${name}.csv`), {
      fallback: 'none', bounds: { guess: null, slip: null }, threads: 2,
    });
    const reference = pybkt[name].training_loglik_total;
    expect(Number.isFinite(reference)).toBe(true);
    expect(fit.logLik).toBeGreaterThanOrEqual(reference);
  });
});

describe('raw mode, guess and slip <= 0.3, against hmm-scalable', () => {
  const reference = hmmScalableNll();
  it('reads the five reference figures', () => {
    expect([...reference.keys()].sort()).toEqual(
      ['assist2009', 'assist2009_pybkt_subset', 'assist2015', 'ct_pybkt', 'statics2011'],
    );
  });
  it.each(['ct_pybkt', 'assist2009_pybkt_subset', 'statics2011', 'assist2009', 'assist2015'])(
    '%s: total negative log-likelihood <= hmm-scalable',
    async (name) => {
      const fit = await fitDatasetParallel(loadResponses(`${name}.csv`), {
        fallback: 'none', bounds: { guess: 0.3, slip: 0.3 }, threads: 2,
      });
      expect(-fit.logLik).toBeLessThanOrEqual(reference.get(name)!);
    },
  );
});
