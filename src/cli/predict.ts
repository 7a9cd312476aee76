/**
 * `bkt predict`: per-row predictions for a response log, in input order, with the input's columns; or, with
 * --final-states, one row per (student, concept) with the exact state after its last answer.
 */
import { basename } from 'node:path';
import type { Command } from 'commander';
import type { ResponseData, TraceColumns } from '../bkt/index.js';
import { statSync } from 'node:fs';
import { InputError, UsageError } from './errors.js';
import { loadResponseData } from './load.js';
import { addColumnOptions, addJsonOption, columnNames, type ColumnOptions, count, thresholdOption } from './options.js';
import { AtomicOutput, csvField } from './output.js';
import { DEFAULTS_SOURCE, type LoadedParams, readParamsFile } from './params-file.js';
import { makeProgress } from './progress.js';
import { traceDataset } from './apply-params.js';
import { conceptSources, PREDICTION_COLUMNS, SOURCE_CODE, writePredictionRows } from './predict-output.js';
import { round, usageJson, usageText } from './summary.js';
import { addVariantOptions, type VariantCliOptions, variantColumnsFor } from './variant-options.js';

export const FINAL_STATE_COLUMNS = ['known', 'unknown', 'level', 'mastered', 'responses'] as const;

interface PredictOptions extends ColumnOptions, VariantCliOptions {
  output: string;
  params?: string;
  finalStates: boolean;
  threshold?: number;
  json: boolean;
}

export function registerPredict(program: Command): void {
  const cmd = program
    .command('predict')
    .summary('predict every row of a response log (or final states) from fitted or default parameters')
    .description(
      'One output row per input row, in input order: the input columns plus p_correct (before the answer), ' +
        'p_mastery_before, p_posterior, p_mastery_after (= posterior*(1-forget) + (1-posterior)*learn) and ' +
        'mastered (p_mastery_after >= threshold, 1 or 0), opportunity (1-based within the student and concept) and ' +
        'params_source (fitted, fallback, absent, unseen or defaults). Probabilities have 10 decimals. With --final-states, one row per (student, concept): ' +
        'known = level = P(L) after the last answer, unknown = P(not L) kept exactly, mastered, responses. ' +
        'A params file fitted with variants is applied per value (its columns are read from the data); a row whose ' +
        'value was not seen in training takes the concept\'s own parameters and is marked params_source unseen.',
    )
    .argument('<data>', 'response log: CSV, or gzip-compressed CSV when the name ends in .gz')
    .requiredOption('-o, --output <file>', 'output CSV, written atomically ("-" for stdout)')
    .option('--params <file>', 'params file from `bkt fit` (default: none, the story defaults for every concept)')
    .option('--final-states', 'write the state after the last answer per (student, concept) instead of per-row predictions', false)
    .addOption(thresholdOption("the params file's, else 0.95"));
  addJsonOption(addColumnOptions(addVariantOptions(cmd, false))).action(async (file: string, o: PredictOptions) => runPredict(file, o));
}

async function runPredict(file: string, o: PredictOptions): Promise<void> {
  if (o.json && o.output === '-') throw new UsageError('--json prints the summary on stdout: give -o a file name');
  const source = o.params === undefined ? DEFAULTS_SOURCE : readParamsFile(o.params);
  // Opened first, so an unwritable output fails before any work.
  const output = new AtomicOutput(o.output);
  try {
    await predictAndWrite(file, o, source, output);
  } finally {
    output.abort();
  }
}

async function predictAndWrite(file: string, o: PredictOptions, source: LoadedParams, output: AtomicOutput): Promise<void> {
  const started = performance.now();
  const threshold = o.threshold ?? source.threshold;
  const progress = makeProgress();
  const columns = columnNames(o);
  const variants = { columns: variantColumnsFor(source, o), fitting: false };
  const { log, data } = await loadResponseData(file, columns, progress, variants);
  const taken = o.finalStates ? undefined : PREDICTION_COLUMNS.find((name) => log.header.includes(name));
  if (taken !== undefined) {
    throw new InputError(file, 1, `the input already has a column "${taken}", which predict writes; drop or rename it`);
  }
  const n = data.responses.length;
  const nSeq = data.offsets.length - 1;

  const out: TraceColumns = o.finalStates
    ? { finalKnown: new Float64Array(nSeq), finalUnknown: new Float64Array(nSeq) }
    : {
        pCorrect: new Float64Array(n),
        masteryBefore: new Float64Array(n),
        posterior: new Float64Array(n),
        masteryAfter: new Float64Array(n),
        mastered: new Uint8Array(n),
      };
  const unseenRows = o.finalStates ? undefined : new Uint8Array(n);
  const usage = traceDataset(data, source, threshold, out, unseenRows);

  const writeStarted = performance.now();
  const writeCpu = process.cpuUsage();
  try {
    if (o.finalStates) writeFinalStates(output, data, out, threshold, o);
    else {
      progress.phase('write', statSync(file).size);
      const sources = markUnseen(conceptSources(data, source), unseenRows!);
      await writePredictionRows(output, file, data, { trace: out, sources }, (done) =>
        progress.update(done),
      );
    }
    output.commit();
  } finally {
    progress.stop();
  }
  const done = performance.now();
  const cpu = process.cpuUsage(writeCpu);

  const mastered = o.finalStates ? countMastered(out.finalKnown!, threshold) : sum(out.mastered!);
  const summary = {
    command: 'predict',
    input: { file: basename(file), sha256: log.sha256, rows: n, students: data.studentIds.length, concepts: data.conceptIds.length },
    output: o.output,
    kind: o.finalStates ? 'final_states' : 'predictions',
    rows_written: o.finalStates ? nSeq : n,
    params: source.file === null ? 'defaults' : basename(source.file),
    threshold,
    ...usageJson(usage),
    mastered,
    seconds: round((done - started) / 1000, 3),
    /** Input rows per second, the whole command (read, trace, write). */
    rows_per_second: Math.round(n / ((done - started) / 1000)),
    /** Output rows per second of the writing pass alone (the input streamed again, predictions appended). */
    write_rows_per_second: Math.round((o.finalStates ? nSeq : n) / ((done - writeStarted) / 1000)),
    /** CPU seconds (user + system, the whole process) of the writing pass: its cost without waiting for a core. */
    write_cpu_seconds: round((cpu.user + cpu.system) / 1e6, 3),
  };
  const say = o.output === '-' ? process.stderr : process.stdout;
  if (o.json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } else {
    say.write(
      `${o.finalStates ? `wrote ${count(nSeq)} final states` : `predicted ${count(n)} rows`} ` +
        `(${count(data.studentIds.length)} students, ${count(data.conceptIds.length)} concepts) ` +
        `with ${summary.params} to ${o.output} in ${summary.seconds} s ` +
        `(${count(summary.rows_per_second)} rows/s; writing ${count(summary.write_rows_per_second)} rows/s)\n${usageText(usage)}`,
    );
  }
}

function writeFinalStates(
  output: AtomicOutput,
  data: ResponseData,
  cols: TraceColumns,
  threshold: number,
  o: PredictOptions,
): void {
  const { finalKnown, finalUnknown } = cols as Required<TraceColumns>;
  const nSeq = data.offsets.length - 1;
  // Sequences are grouped by concept; write them student by student (first appearance), concepts in data order.
  const seqConcept = new Uint32Array(nSeq);
  for (let c = 0; c < data.conceptIds.length; c++) seqConcept.fill(c, data.conceptSeqs[c], data.conceptSeqs[c + 1]);
  const order = Uint32Array.from({ length: nSeq }, (_, s) => s).sort(
    (a, b) => data.seqStudent[a] - data.seqStudent[b] || seqConcept[a] - seqConcept[b],
  );
  let text = `${[o.studentCol, o.conceptCol, ...FINAL_STATE_COLUMNS].map(csvField).join(',')}\n`;
  for (const s of order) {
    const known = finalKnown[s];
    text +=
      `${csvField(data.studentIds[data.seqStudent[s]])},${csvField(data.conceptIds[seqConcept[s]])},` +
      `${known},${finalUnknown[s]},${known},${known >= threshold ? 1 : 0},${data.offsets[s + 1] - data.offsets[s]}\n`;
    if (text.length > 1 << 16) {
      output.write(text);
      text = '';
    }
  }
  output.write(text);
}

/** Rows of fitted concepts that took the concept's own value for an unseen variant value: params_source unseen. */
function markUnseen(sources: Uint8Array, unseen: Uint8Array): Uint8Array {
  for (let t = 0; t < sources.length; t++) if (unseen[t] === 1 && sources[t] === SOURCE_CODE.fitted) sources[t] = SOURCE_CODE.unseen;
  return sources;
}

function sum(a: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

function countMastered(known: Float64Array, threshold: number): number {
  let s = 0;
  for (let i = 0; i < known.length; i++) if (known[i] >= threshold) s++;
  return s;
}
