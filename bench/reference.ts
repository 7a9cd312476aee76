/**
 * bench/reference: total training log-likelihood in raw mode (each concept's best restart), unbounded and with
 * guess, slip <= 0.3, next to pyBKT's fit and hmm-scalable's figures from ../shared/data/golden.
 * Run: npm run bench:reference   (prints a Markdown table)
 */
import { readFileSync } from 'node:fs';
import { fitDatasetParallel } from '../dist/fitting/parallel.js';
import { dataPath } from '../test/support/data.js';
import { loadResponses } from '../test/support/load.js';

const pybkt = JSON.parse(readFileSync(dataPath('golden/pybkt_fit_summary.json'), 'utf8')) as Record<string, { training_loglik_total: number }>;
const readme = readFileSync(dataPath('golden/README.md'), 'utf8');
const from = readme.indexOf('reaches these total negative log-likelihoods');
const hmm = new Map([...readme.slice(from, readme.indexOf('.\n', from)).matchAll(/([a-z0-9_]+) (\d+\.\d+)/g)].map((m) => [m[1], Number(m[2])]));

console.log('| data set | ours, unbounded | pyBKT (its own fit) | ours, guess/slip ≤ 0.3 (NLL) | hmm-scalable (NLL) |');
console.log('|---|---|---|---|---|');
for (const name of ['ct_pybkt', 'assist2009_pybkt_subset', 'statics2011', 'assist2009', 'assist2015']) {
  const data = loadResponses(`${name}.csv`);
  const free = await fitDatasetParallel(data, { fallback: 'none', bounds: { guess: null, slip: null } });
  const bounded = await fitDatasetParallel(data, { fallback: 'none' });
  const ref = pybkt[name]?.training_loglik_total;
  console.log(`| ${name} | ${free.logLik.toFixed(2)} | ${ref === undefined ? '–' : ref.toFixed(2)} | ${(-bounded.logLik).toFixed(2)} | ${hmm.get(name)?.toFixed(2) ?? '–'} |`);
}
