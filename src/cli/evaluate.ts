/** `bkt evaluate`: how well a params file predicts a response log, overall and per concept. */
import { basename } from 'node:path';
import type { Command } from 'commander';
import { type ConceptMetrics, evaluateDataset, meanConceptAuc, type Metrics } from '../bkt/index.js';
import { traceDataset } from './apply-params.js';
import { loadResponseData } from './load.js';
import { addColumnOptions, addJsonOption, columnNames, type ColumnOptions, count } from './options.js';
import { readParamsFile } from './params-file.js';
import { makeProgress } from './progress.js';
import { usageJson, usageText } from './summary.js';
import { addVariantOptions, type VariantCliOptions, variantColumnsFor } from './variant-options.js';

interface EvaluateOptions extends ColumnOptions, VariantCliOptions {
  params: string;
  json: boolean;
}

export function registerEvaluate(program: Command): void {
  const cmd = program
    .command('evaluate')
    .summary('log-likelihood, RMSE, accuracy and AUC of a params file on a response log')
    .description(
      'Predicts every row from the student\'s earlier rows on the same concept (as `bkt predict` does) and scores ' +
        'the predictions: log-likelihood, RMSE, accuracy (P(correct) >= 0.5) and AUC (ties counted half; none when ' +
        'a concept has only one class), overall and per concept. Concepts absent from the params file use its fallback. ' +
        'A params file fitted with variants is applied per value (its columns are read from the data); a value not ' +
        'seen in training takes the concept\'s own parameters, and the summary counts those rows.',
    )
    .argument('<data>', 'response log: CSV, or gzip-compressed CSV when the name ends in .gz')
    .requiredOption('--params <file>', 'params file from `bkt fit`');
  addJsonOption(addColumnOptions(addVariantOptions(cmd, false))).action(async (file: string, o: EvaluateOptions) => runEvaluate(file, o));
}

async function runEvaluate(file: string, o: EvaluateOptions): Promise<void> {
  const source = readParamsFile(o.params);
  const variants = { columns: variantColumnsFor(source, o), fitting: false };
  const { log, data } = await loadResponseData(file, columnNames(o), makeProgress(), variants);
  const pCorrect = new Float64Array(data.responses.length);
  const usage = traceDataset(data, source, source.threshold, { pCorrect });
  const { overall, concepts } = evaluateDataset(data, pCorrect);
  const conceptAuc = meanConceptAuc(concepts);
  if (o.json) {
    const summary = {
      command: 'evaluate',
      input: { file: basename(file), sha256: log.sha256, rows: data.responses.length, students: data.studentIds.length, concepts: data.conceptIds.length },
      params: basename(o.params),
      ...usageJson(usage),
      overall: metricsJson(overall),
      concept_auc: { row_weighted: conceptAuc.rowWeighted, macro: conceptAuc.macro },
      concepts: concepts.map((c) => ({ concept_id: c.conceptId, ...metricsJson(c) })),
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  process.stdout.write(
    `${basename(file)}: ${count(data.responses.length)} rows, ${count(data.studentIds.length)} students, ` +
      `${count(data.conceptIds.length)} concepts, params ${basename(o.params)}\n${usageText(usage)}\n` +
      metricsTable([{ label: 'overall', m: overall }, ...concepts.map((c: ConceptMetrics) => ({ label: c.conceptId, m: c }))]) +
      `\nper-concept AUC: row-weighted ${fmt(conceptAuc.rowWeighted)}, macro ${fmt(conceptAuc.macro)}\n`,
  );
}

export function metricsJson(m: Metrics) {
  return {
    responses: m.responses,
    correct: m.correct,
    log_lik: m.logLik,
    rmse: m.rmse,
    accuracy: m.accuracy,
    auc: m.auc,
  };
}

function fmt(x: number | null, digits = 4): string {
  return x === null || Number.isNaN(x) ? '-' : x.toFixed(digits);
}

/** A plain text table, one row per label. */
export function metricsTable(rows: { label: string; m: Metrics }[]): string {
  const header = ['concept', 'rows', 'log_lik', 'rmse', 'accuracy', 'auc'];
  const cells = rows.map(({ label, m }) => [
    label,
    count(m.responses),
    m.logLik.toFixed(3),
    fmt(m.rmse),
    fmt(m.accuracy),
    fmt(m.auc),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return `${[line(header), ...cells.map(line)].join('\n')}\n`;
}
