/**
 * bench/pooled-restarts: how much the pooled fallback fit (all rows as one concept) gains from restarts.
 * Prints each restart's log-likelihood and iterations per data set; the spread justifies pooledRestarts = 1.
 * Run: npx tsx bench/pooled-restarts.ts
 */
import { makeFitOptions } from '../src/bkt/index.js';
import { runEm } from '../src/bkt/em.js';
import { POOLED_KEY } from '../src/bkt/fit.js';
import { restartStart } from '../src/bkt/restarts.js';
import { loadResponses } from '../test/support/load.js';

for (const name of ['ct_pybkt.csv', 'assist2009_pybkt_subset.csv', 'statics2011.csv', 'assist2009.csv', 'assist2015.csv']) {
  const data = loadResponses(name);
  const o = makeFitOptions();
  const runs = [0, 1, 2, 3, 4].map((r) => runEm(data, restartStart(o, POOLED_KEY, r), o));
  const lls = runs.map((x) => x.logLik);
  console.log(`${name}: spread ${(Math.max(...lls) - Math.min(...lls)).toFixed(2)}; ${runs.map((x, r) => `r${r} ${x.logLik.toFixed(2)} (${x.iterations} it)`).join(', ')}`);
}
