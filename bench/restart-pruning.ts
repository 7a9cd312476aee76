/**
 * bench/restart-pruning: whether "a restart far behind the leader after K iterations cannot win" is safe, and what
 * it would save. Runs every restart of every concept to convergence at default options (history kept), then for
 * each K prints (a) the largest gap, per row, between the leader at iteration K and the restart that wins in the
 * end (a pruning margin below it would have dropped a winner: unsafe), and (b) the share of row-iterations saved by
 * dropping restarts behind by more than 0.01 per row at K (those not winning).
 *
 * Run: npx tsx bench/restart-pruning.ts [data set ...]   (default: assist2009 assist2015 statics2011 ct_pybkt)
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildResponseData, makeFitOptions } from '../src/bkt/index.js';
import { countRows, runEm } from '../src/bkt/em.js';
import { restartStart } from '../src/bkt/restarts.js';
import { unitKey, unitSequences } from '../src/bkt/fit.js';
import { DEFAULT_COLUMNS, readResponseLog } from '../src/cli/csv-input.js';

const here = dirname(fileURLToPath(import.meta.url));
const KS = [3, 5, 8, 10, 15, 20];
const MARGIN = 0.01;
const names = process.argv.length > 2 ? process.argv.slice(2) : ['assist2009', 'assist2015', 'statics2011', 'ct_pybkt'];

console.log(`K = iteration at which restarts would be compared; margin for the savings column: ${MARGIN} per row`);
console.log(['data set', ...KS.map((k) => `K=${k} winner gap/row`), ...KS.map((k) => `K=${k} saved`)].join(' | '));
for (const name of names) {
  const log = await readResponseLog(resolve(here, `../../shared/data/${name}.csv`), DEFAULT_COLUMNS);
  const { data } = buildResponseData(log.rows);
  const o = makeFitOptions({});
  const worst = KS.map(() => 0);
  const saved = KS.map(() => 0);
  let total = 0;
  for (let c = 0; c < data.conceptIds.length; c++) {
    const seqs = unitSequences(data, c);
    const rows = countRows(seqs);
    if (rows === 0) continue;
    const runs = Array.from({ length: o.restarts }, (_, r) => runEm(seqs, restartStart(o, unitKey(data, c), r), o, { history: true }));
    let best = 0;
    for (let r = 1; r < runs.length; r++) if (runs[r].logLik > runs[best].logLik) best = r;
    for (const run of runs) total += rows * run.history!.length;
    KS.forEach((K, i) => {
      const at = (r: number) => runs[r].history![Math.min(K, runs[r].history!.length - 1)];
      const lead = Math.max(...runs.map((_, r) => at(r)));
      worst[i] = Math.max(worst[i], (lead - at(best)) / rows);
      runs.forEach((run, r) => {
        if (r !== best && (lead - at(r)) / rows > MARGIN) saved[i] += rows * Math.max(0, run.history!.length - 1 - K);
      });
    });
  }
  console.log([name, ...worst.map((w) => w.toExponential(2)), ...saved.map((s) => `${((100 * s) / total).toFixed(1)}%`)].join(' | '));
}
