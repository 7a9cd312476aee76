/**
 * bench/variants: the E-step's cost per row-iteration for each model variant next to the standard one, in the same
 * run, on the shared items file (item, template and class columns), one thread. Each figure is the median of the
 * repeats; the ratio is each variant's median over the standard's.
 * Run: npm run bench:variants   (figures are printed, never asserted)
 */
import { DEFAULT_PARAMS } from '../src/bkt/index.js';
import { eStep, emptyCounts, maxSequenceLength } from '../src/bkt/em.js';
import { broadcastParams, emptyValueCounts, eStepByValue } from '../src/bkt/em-variants.js';
import { valueSequences } from '../src/bkt/fit-variants.js';
import { loadResponseData } from '../src/cli/load.js';
import { makeProgress } from '../src/cli/progress.js';
import { dataPath } from '../test/support/data.js';

const FILE = 'assist2009_pybkt_subset_items.csv';
const REPEATS = Number(process.env.BENCH_REPEATS ?? 7);
const ROUNDS = 50; // E-steps per repeat
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const VARIANTS = [
  ['standard', null, null, null],
  ['multigs item_id', 'item_id', null, null],
  ['multigs template_id', 'template_id', null, null],
  ['multilearn template_id', null, 'template_id', null],
  ['multiprior class_id', null, null, 'class_id'],
  ['all three', 'item_id', 'template_id', 'class_id'],
] as const;

const columns = { student: 'student_id', concept: 'concept_id', correct: 'correct', order: 'order_id' };
let sink = 0;
const results: { name: string; ns: number }[] = [];
for (const [name, gs, learn, prior] of VARIANTS) {
  const { data } = await loadResponseData(dataPath(FILE), columns, makeProgress(), {
    columns: { guessSlip: gs, learn, prior },
    fitting: true,
  });
  const rows = data.responses.length;
  const alpha = new Float64Array(2 * maxSequenceLength(data));
  const concepts = data.conceptIds.map((_, c) => c);
  let run: () => void;
  if (name === 'standard') {
    const counts = emptyCounts();
    run = () => {
      for (const c of concepts) {
        const { responses, offsets } = data;
        sink += eStep({ responses, offsets: offsets.subarray(data.conceptSeqs[c], data.conceptSeqs[c + 1] + 1) }, DEFAULT_PARAMS, counts, alpha);
      }
    };
  } else {
    const units = concepts.map((c) => {
      const seqs = valueSequences(data, c);
      return { seqs, model: broadcastParams(DEFAULT_PARAMS, seqs.sizes), counts: emptyValueCounts(seqs.sizes) };
    });
    run = () => {
      for (const u of units) sink += eStepByValue(u.seqs, u.model, u.counts, alpha);
    };
  }
  run(); // compile before timing
  const times: number[] = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < ROUNDS; k++) run();
    times.push(Number(process.hrtime.bigint() - t0) / ROUNDS / rows);
  }
  results.push({ name, ns: median(times) });
}
if (!Number.isFinite(sink)) throw new Error('non-finite result');

console.log(`${FILE}: E-step ns per row-iteration, median of ${REPEATS} x ${ROUNDS} E-steps, one thread`);
console.log('model | ns/row-iteration | ratio to standard');
const standard = results[0].ns;
for (const r of results) console.log(`${r.name} | ${r.ns.toFixed(1)} | ${(r.ns / standard).toFixed(2)}x`);
