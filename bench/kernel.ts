/**
 * bench/kernel: the core's inner loops on one thread, on real data (assist2009, 325k rows).
 *   traceMastery rows/s, updateMastery calls/s (validation included), and the E-step's ns per row-iteration.
 * Run: npm run bench:kernel   (figures are printed, never asserted; take the median of the repeats)
 */
import { DEFAULT_PARAMS, initialState, traceMastery, updateMastery } from '../src/bkt/index.js';
import { eStep, emptyCounts, maxSequenceLength } from '../src/bkt/em.js';
import { loadResponses } from '../test/support/load.js';

const REPEATS = 7;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function time(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const data = loadResponses(process.argv[2] ?? 'assist2009.csv');
const n = data.responses.length;
console.log(`data: ${process.argv[2] ?? 'assist2009.csv'}, ${n} rows, ${data.offsets.length - 1} sequences`);

// traceMastery: all four per-row columns, as `bkt predict` uses it.
const cols = {
  pCorrect: new Float64Array(n), masteryBefore: new Float64Array(n),
  posterior: new Float64Array(n), masteryAfter: new Float64Array(n),
};
const traceRuns: number[] = [];
for (let r = 0; r < REPEATS; r++) traceRuns.push(time(() => { for (let k = 0; k < 10; k++) traceMastery(DEFAULT_PARAMS, data, cols); }) / 10);
console.log(`traceMastery: ${(n / median(traceRuns) / 1e6).toFixed(1)} M rows/s (target >= 50)`);

// updateMastery: one call per row, with validation, feeding each result's state into the next call.
const updRuns: number[] = [];
let sink = 0;
for (let r = 0; r < REPEATS; r++) {
  updRuns.push(time(() => {
    let state = initialState(DEFAULT_PARAMS);
    const { responses, offsets } = data;
    for (let s = 0; s + 1 < offsets.length; s++) {
      state = initialState(DEFAULT_PARAMS);
      for (let t = offsets[s]; t < offsets[s + 1]; t++) state = updateMastery(state, responses[t] === 1, DEFAULT_PARAMS).state;
    }
    sink += state.known;
  }));
}
console.log(`updateMastery: ${(n / median(updRuns) / 1e6).toFixed(1)} M calls/s (target >= 5)`);

// E-step: forward-backward with expected counts, the unit of EM's cost.
const alpha = new Float64Array(2 * maxSequenceLength(data));
const counts = emptyCounts();
const eRuns: number[] = [];
for (let r = 0; r < REPEATS; r++) eRuns.push(time(() => { for (let k = 0; k < 10; k++) sink += eStep(data, DEFAULT_PARAMS, counts, alpha); }) / 10);
console.log(`E-step: ${((median(eRuns) * 1e9) / n).toFixed(1)} ns per row-iteration (target <= 15)`);
if (!Number.isFinite(sink)) throw new Error('non-finite result');
