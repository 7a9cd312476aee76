/** `bkt cv`: student-level k-fold cross-validation of the EM fit. */
import { basename } from 'node:path';
import type { Command } from 'commander';
import { calibrationBins, crossValidate, type CvFallback, type CvResult, type ResponseData } from '../bkt/index.js';
import { fitDatasetParallel, warmUpWorkers } from '../fitting/parallel.js';
import { metricsJson, metricsTable } from './evaluate.js';
import { addFitOptions, type FitCliOptions, fitOptionsFrom } from './fit-options.js';
import { loadResponseData } from './load.js';
import { addColumnOptions, addJsonOption, columnNames, type ColumnOptions, count, parseInteger } from './options.js';
import { makeProgress } from './progress.js';
import { round, unseenJson, unseenText } from './summary.js';
import { perValueJson } from './params-per-value.js';
import { variantColumnsFrom, variantOptionsJson } from './variant-options.js';
import { foldsFromColumn, writePredictions } from './cv-folds.js';

interface CvCommandOptions extends ColumnOptions, FitCliOptions {
  folds: number;
  foldCol?: string;
  predictions?: string;
  json: boolean;
}

export function registerCv(program: Command): void {
  const cmd = program
    .command('cv')
    .summary('cross-validate by student: AUC and other metrics on held-out students')
    .description(
      'Shuffles students with the seed and deals them into folds. For each fold, fits on the other folds\' students ' +
        'and predicts each held-out row from the same student\'s earlier rows on that concept. Concepts absent, ' +
        'few-data or degenerate in training use the fallback; the report counts them. Reports pooled metrics over ' +
        'all held-out rows, the mean and sd of fold AUCs, and per-concept AUC (row-weighted and macro). Unlike ' +
        'pyBKT\'s per-concept cross-validation, whole students are held out.',
    )
    .argument('<data>', 'response log: CSV, or gzip-compressed CSV when the name ends in .gz')
    .option('--folds <k>', 'number of folds (students are split, not rows)', parseInteger(2), 5)
    .option(
      '--fold-col <column>',
      "take each student's fold from this column instead of the seeded shuffle (one fold per distinct value, in sorted order; all of a student's rows must agree); --folds is then ignored (default: none, the seeded shuffle)",
    )
    .option(
      '--predictions <file>',
      'write every held-out row to this CSV, in input order: row (1-based data row), fold, prediction (P(correct) when held out), observed (1, 0, or empty for no observation) (default: none)',
    );
  addJsonOption(addColumnOptions(addFitOptions(cmd))).action(async (file: string, o: CvCommandOptions) => runCv(file, o));
}

async function runCv(file: string, o: CvCommandOptions): Promise<void> {
  const started = performance.now();
  const progress = makeProgress();
  warmUpWorkers(o.threads); // they start while the CSV is read
  const columns = columnNames(o);
  const variants = { columns: variantColumnsFrom(o), fitting: true };
  const { log, data } = await loadResponseData(file, o.foldCol === undefined ? columns : { ...columns, extra: [o.foldCol] }, progress, variants);
  const given = o.foldCol === undefined ? null : foldsFromColumn(file, log, data, o.foldCol);
  const folds = given === null ? o.folds : given.labels.length;
  let result: CvResult;
  try {
    progress.phase('cv', folds);
    result = await crossValidate(
      data,
      given === null ? { ...fitOptionsFrom(o), folds } : { ...fitOptionsFrom(o), folds, foldOfStudent: given.foldOfStudent },
      (train, options) => fitDatasetParallel(train, { ...options, threads: o.threads }),
      (done) => progress.update(done),
    );
  } finally {
    progress.stop();
  }
  const labels = given?.labels ?? Array.from({ length: result.folds }, (_, k) => String(k + 1));
  if (o.predictions !== undefined) writePredictions(o.predictions, data, result.pCorrect, result.foldOfRow, labels);
  const elapsed = (performance.now() - started) / 1000;
  const run: CvRun = {
    file, o, sha256: log.sha256, data, result, labels, variants: variants.columns, seconds: round(elapsed, 3),
    rowsPerSecond: Math.round(data.responses.length / elapsed),
  };
  process.stdout.write(o.json ? `${JSON.stringify(cvJson(run), null, 2)}\n` : cvText(run));
}

/** What one `bkt cv` produced, for its summaries. */
interface CvRun {
  readonly file: string;
  readonly o: CvCommandOptions;
  readonly sha256: string;
  readonly data: ResponseData;
  readonly result: CvResult;
  /** Fold labels by fold index. */
  readonly labels: readonly string[];
  readonly variants: ReturnType<typeof variantColumnsFrom>;
  readonly seconds: number;
  readonly rowsPerSecond: number;
}

/** The `--json` summary. */
function cvJson({ file, o, sha256, data, result, labels, variants, seconds, rowsPerSecond }: CvRun) {
  return {
    command: 'cv',
    input: { file: basename(file), sha256, rows: data.responses.length, students: data.studentIds.length, concepts: data.conceptIds.length },
    folds: result.folds,
    seed: result.seed,
    fit_forget: o.fitForget,
    variants: variantOptionsJson(variants),
    unseen_values: unseenJson(result.unseen),
    pooled: metricsJson(result.pooled),
    fold_col: o.foldCol ?? null,
    predictions: o.predictions ?? null,
    fold_auc: result.foldAuc,
    across_folds: {
      auc: result.acrossFolds.auc,
      rmse: result.acrossFolds.rmse,
      accuracy: result.acrossFolds.accuracy,
      log_lik: result.acrossFolds.logLik,
    },
    concept_auc: { row_weighted: result.conceptAuc.rowWeighted, macro: result.conceptAuc.macro },
    fallback: fallbackJson(result.fallback),
    per_fold: result.perFold.map((f) => ({
      fold: f.fold,
      label: labels[f.fold],
      train_students: f.trainStudents,
      test_students: f.testStudents,
      train_log_lik: f.trainLogLik,
      ...metricsJson(f),
      fallback: fallbackJson(f.fallback),
      unseen_values: unseenJson(f.unseen),
      params: {
        fallback: { source: f.params.fallbackSource, params: f.params.fallback },
        concepts: f.params.concepts.map((c) => ({
          concept_id: c.conceptId, use: c.use, params: c.params, ...(c.perValue ? { per_value: perValueJson(c.perValue) } : {}),
        })),
      },
    })),
    concepts: result.concepts.map((c) => ({ concept_id: c.conceptId, ...metricsJson(c) })),
    // Held-out predictions by decile, for `bkt report --cv`.
    calibration: calibrationBins(data.responses, result.pCorrect).map((b) => ({
      bin: b.bin, rows: b.rows, mean_predicted: b.meanPredicted, observed: b.observed, low: b.low, high: b.high,
    })),
    seconds,
    /** Input rows per second, the whole command (read, every fold's fit and predictions). */
    rows_per_second: rowsPerSecond,
  };
}

/** The human summary: the metrics table per fold, AUC over folds and concepts, fallback and unseen values. */
function cvText({ file, o, data, result, labels, seconds, rowsPerSecond }: CvRun): string {
  const f = result.fallback;
  const fmt = (x: number | null) => (x === null ? '-' : x.toFixed(4));
  return (
    `${basename(file)}: ${result.folds}-fold cross-validation by student (${o.foldCol === undefined ? `seed ${result.seed}` : `folds from ${o.foldCol}`}), ` +
      `${count(data.responses.length)} rows, ${count(data.studentIds.length)} students, ${count(data.conceptIds.length)} concepts, ${seconds} s (${count(rowsPerSecond)} rows/s)\n\n` +
      metricsTable([
        { label: 'pooled', m: result.pooled },
        ...result.perFold.map((x) => ({ label: `fold ${labels[x.fold]}`, m: x })),
      ]) +
      `\nacross folds (mean ± sd): AUC ${spread(result.acrossFolds.auc)}, RMSE ${spread(result.acrossFolds.rmse)}, ` +
      `accuracy ${spread(result.acrossFolds.accuracy)}, log-likelihood ${spread(result.acrossFolds.logLik, 3)}\n` +
      `\nAUC pooled ${fmt(result.pooled.auc)}; over folds mean ${fmt(result.foldAuc.mean)}, sd ${fmt(result.foldAuc.sd)}; ` +
      `per concept row-weighted ${fmt(result.conceptAuc.rowWeighted)}, macro ${fmt(result.conceptAuc.macro)}\n` +
      `fallback used for ${(100 * f.rowShare).toFixed(2)}% of test rows: ` +
      `absent in training ${count(f.absent.concepts)} (fold, concept) pairs / ${count(f.absent.rows)} rows, ` +
      `degenerate ${count(f.degenerate.concepts)} / ${count(f.degenerate.rows)}, ` +
      `few data ${count(f.fewData.concepts)} / ${count(f.fewData.rows)}\n` +
      unseenText(result.unseen)
  );
}

function spread(x: { mean: number | null; sd: number | null }, digits = 4): string {
  return x.mean === null ? '-' : `${x.mean.toFixed(digits)} ± ${x.sd === null ? '-' : x.sd.toFixed(digits)}`;
}

function fallbackJson(f: CvFallback) {
  return { absent: f.absent, degenerate: f.degenerate, few_data: f.fewData, row_share: f.rowShare };
}
