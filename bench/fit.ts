/**
 * bench/fit: EM fitting at default options (5 restarts, bounds 0.3, pooled fallback) on every data set in
 * ../shared/data, with 1 and 2 worker threads. Prints row-iterations, ns per row-iteration, fit time, total
 * log-likelihood, concepts converged, and the 2-thread speedup measured in the same run (target >= 1.7x).
 * Run: npm run bench:fit [-- name.csv ...]
 */
import { readdirSync } from 'node:fs';
import { fitDatasetParallel } from '../dist/fitting/parallel.js';
import { dataPath } from '../test/support/data.js';
import { loadResponses } from '../test/support/load.js';

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3);
const names = process.argv.slice(2).length > 0
  ? process.argv.slice(2)
  : readdirSync(dataPath('.')).filter((f) => f.endsWith('.csv')).sort();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log('data set | rows | threads | fit s (median of %d) | row-iterations | ns/row-iteration | log-likelihood | converged | speedup (median of paired ratios)', REPEATS);
for (const name of names) {
  const data = loadResponses(name);
  // 1 and 2 threads alternate, and the speedup is the median of each pair's ratio: on a shared machine whose
  // speed drifts, a pair measured back to back is a fairer comparison than two separate medians.
  const runs = new Map<number, number[]>([[1, []], [2, []]]);
  const ratios: number[] = [];
  const fits = new Map<number, Awaited<ReturnType<typeof fitDatasetParallel>>>();
  for (let r = 0; r < REPEATS; r++) {
    const pair: number[] = [];
    for (const threads of [1, 2]) {
      const t0 = process.hrtime.bigint();
      fits.set(threads, await fitDatasetParallel(data, { threads }));
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      runs.get(threads)!.push(seconds);
      pair.push(seconds);
    }
    ratios.push(pair[0] / pair[1]);
  }
  for (const threads of [1, 2]) {
    const fit = fits.get(threads)!;
    const s = median(runs.get(threads)!);
    const converged = fit.concepts.filter((c) => c.converged).length;
    console.log(
      [name, data.responses.length, threads, s.toFixed(3), fit.rowIterations,
        ((s * 1e9 * threads) / fit.rowIterations).toFixed(1), fit.logLik.toFixed(2),
        `${converged}/${fit.concepts.length}`, threads === 2 ? `${median(ratios).toFixed(2)}x` : ''].join(' | '),
    );
  }
}
