/** `bkt fit`: fits every concept of a response log with EM and writes the params file. */
import { basename } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Command, Option } from 'commander';
import { type ConceptFit, type DatasetFit, type FitOptions, type ResponseData, SLOW_MASTERY } from '../bkt/index.js';
import { fitDatasetParallel, warmUpWorkers } from '../fitting/parallel.js';
import { UsageError } from './errors.js';
import { addFitOptions, type FitCliOptions, fitOptionsFrom } from './fit-options.js';
import { loadResponseData } from './load.js';
import { addColumnOptions, addJsonOption, columnNames, type ColumnOptions, count } from './options.js';
import { AtomicOutput } from './output.js';
import { formatParamsCsv } from './params-csv.js';
import {
  formatParamsFile, PARAMS_SCHEMA_VERSION, type ParamsFile, type ParamsFileConcept, type VariantColumnNames,
} from './params-file.js';
import { makeProgress, type Progress } from './progress.js';
import { round } from './summary.js';
import { VERSION } from './version.js';
import { perValueJson } from './params-per-value.js';
import { variantColumnsFrom, variantFitText, variantOptionsJson } from './variant-options.js';

interface FitCommandOptions extends ColumnOptions, FitCliOptions {
  output: string;
  format: 'json' | 'csv';
  json: boolean;
}

export function registerFit(program: Command): void {
  const cmd = program
    .command('fit')
    .summary('fit BKT parameters per concept with EM and write a params file')
    .description(
      'Fits every concept with Baum-Welch EM (restart 0 at the story defaults, the others seeded by seed, concept ' +
        'and restart), flags degenerate, unreachable, at-bound and few-data fits, and writes a JSON params file with ' +
        'the options, the sha256 of the input, per-concept parameters, statistics and flags, and the fallback.',
    )
    .argument('<data>', 'response log: CSV, or gzip-compressed CSV when the name ends in .gz')
    .requiredOption('-o, --output <file>', 'params file to write (JSON, or CSV with --format csv), atomically ("-" for stdout)')
    .addOption(
      new Option(
        '--format <format>',
        'json: the params file that predict, evaluate and the service read; csv: the same parameters as a table ' +
          'for R and pandas, one row per concept and per variant value (docs/cli-guide.md)',
      )
        .choices(['json', 'csv'])
        .default('json'),
    );
  addJsonOption(addColumnOptions(addFitOptions(cmd))).action(async (file: string, o: FitCommandOptions) => runFit(file, o));
}

async function runFit(file: string, o: FitCommandOptions): Promise<void> {
  if (o.json && o.output === '-') throw new UsageError('--json prints the summary on stdout: give -o a file name');
  // Opened first, so an unwritable output fails before the fit rather than after it.
  const output = new AtomicOutput(o.output);
  try {
    await fitAndWrite(file, o, output);
  } finally {
    output.abort();
  }
}

async function fitAndWrite(file: string, o: FitCommandOptions, output: AtomicOutput): Promise<void> {
  const progress = makeProgress();
  warmUpWorkers(o.threads); // they start while the CSV is read
  const variants = variantColumnsFrom(o);
  const { sha256, data, seconds: loading } = await loadForFit(file, o, progress, variants);
  collectGarbage();
  const t1 = performance.now();
  const fit = await fitWithProgress(data, o, progress);
  const t2 = performance.now();
  const paramsFile: ParamsFile = {
    schema_version: PARAMS_SCHEMA_VERSION,
    generator: `bkt-engine ${VERSION}`,
    input: {
      file: basename(file),
      sha256,
      rows: data.responses.length,
      students: data.studentIds.length,
      concepts: data.conceptIds.length,
      columns: columnNames(o),
    },
    options: { ...optionsJson(fit.options), ...variantOptionsJson(variants) },
    fallback: {
      source: fit.fallback.source,
      params: fit.fallback.params,
      pooled: fit.fallback.pooled === null ? null : conceptJson(fit.fallback.pooled),
    },
    totals: totalsJson(fit),
    concepts: fit.concepts.map(conceptJson),
  };
  output.write(o.format === 'csv' ? formatParamsCsv(paramsFile) : formatParamsFile(paramsFile));
  output.commit();
  const t3 = performance.now();

  const summary = {
    command: 'fit',
    input: paramsFile.input,
    output: o.output,
    threads: o.threads,
    ...paramsFile.totals,
    fallback: { source: fit.fallback.source, params: fit.fallback.params },
    variants: variantOptionsJson(variants),
    seconds: {
      parse: round(loading.parse, 3),
      group: round(loading.group, 3),
      fit: round((t2 - t1) / 1000, 3),
      write: round((t3 - t2) / 1000, 3),
    },
  };
  if (o.json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  const t = totalsJson(fit);
  const say = o.output === '-' ? process.stderr : process.stdout;
  say.write(
    `fitted ${count(t.concepts)} concepts on ${count(fit.responses)} rows (${count(data.studentIds.length)} students) ` +
      `in ${summary.seconds.fit} s with ${o.threads} thread${o.threads === 1 ? '' : 's'} -> ${o.output}\n` +
      `  log-likelihood ${fit.logLik.toFixed(3)} (parameters as used, fallback included)\n` +
      `  ${count(t.fitted)} use their own fit, ${count(t.fallback)} the ${fit.fallback.source} fallback ` +
      `(${count(t.flags.degenerate)} degenerate, ${count(t.flags.few_data)} few data); ` +
      `${count(t.converged)} converged, ${count(t.flags.at_bound)} at a bound\n` +
      `  advisories (fits kept): ${count(t.flags.mastery_unreachable)} with mastery unreachable, ` +
      `${count(t.flags.mastery_slow)} with mastery after more than ${SLOW_MASTERY} correct answers in a row\n` +
      variantFitText(fit),
  );
}

/** The fit on o.threads threads, its progress shown by rows. */
async function fitWithProgress(data: ResponseData, o: FitCommandOptions, progress: Progress): Promise<DatasetFit> {
  let started = false;
  try {
    return await fitDatasetParallel(data, {
      ...fitOptionsFrom(o),
      threads: o.threads,
      onProgress: (p) => {
        if (!started) progress.phase('fit', p.totalRows);
        started = true;
        progress.update(p.rows);
      },
    });
  } finally {
    progress.stop();
  }
}

/**
 * What the fit needs of the log: its grouped sequences and the sha256 of its bytes. The rows as read are left to the
 * collector, and the map back to them (`rowOf`) is never made.
 */
async function loadForFit(file: string, o: FitCommandOptions, progress: Progress, variants: VariantColumnNames) {
  const { log, data, seconds } = await loadResponseData(file, columnNames(o), progress, { columns: variants, fitting: true }, { rowOf: false });
  return { sha256: log.sha256, data, seconds };
}

/**
 * One full collection between loading and fitting: the columns as read and what parsing left (about 10 MB for
 * assist2015's 684k rows) are freed before the workers and the fit add theirs. V8 would otherwise keep them until
 * its next full collection, during the fit: 5 MB more peak RSS of `bkt fit` on assist2015 (bench/peers.ts). It
 * takes about 10 ms. Where the collector cannot be reached this way, the fit runs the same in more memory.
 *
 * The young generation keeps its size from then on: a full collection after loading would double it (the ids
 * and tables that survived the load count as a high survival rate), and the fit, which allocates a few small
 * objects per EM iteration, would then fill it before each scavenge: 4 MB more peak RSS on assist2015.
 */
function collectGarbage(): void {
  try {
    setFlagsFromString('--semi-space-growth-factor=1');
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  } catch {
    // No collector from a new context: nothing freed early.
  }
}

function optionsJson(o: FitOptions) {
  return {
    restarts: o.restarts,
    pooled_restarts: o.pooledRestarts,
    seed: o.seed,
    short_runs: o.shortRuns,
    kicks: o.kicks,
    max_iterations: o.maxIterations,
    tol: o.tol,
    bounds: { guess: o.bounds.guess, slip: o.bounds.slip },
    fixed: o.fixed,
    fit_forget: o.fitForget,
    fallback: o.fallback,
    threshold: o.threshold,
  };
}

function conceptJson(c: ConceptFit): ParamsFileConcept {
  const { reasons, ...flags } = c.flags;
  return {
    concept_id: c.conceptId,
    use: c.use,
    params: c.params,
    log_lik: c.logLik,
    iterations: c.iterations,
    converged: c.converged,
    restarts: c.restarts,
    best_restart: c.bestRestart,
    responses: c.responses,
    students: c.students,
    gap: c.gap === null ? null : { log_lik: c.gap.logLik, params: c.gap.params },
    opportunities_to_mastery: c.opportunitiesToMastery,
    correct_to_mastery: c.correctToMastery,
    mastery_ceiling: c.masteryCeiling,
    flags,
    reasons,
    advisories: c.advisories,
    ...(c.perValue ? { per_value: perValueJson(c.perValue) } : {}),
  };
}

function totalsJson(fit: DatasetFit) {
  const flags = { degenerate: 0, few_data: 0, at_bound: 0, mastery_unreachable: 0, mastery_slow: 0 };
  let fitted = 0;
  let converged = 0;
  for (const c of fit.concepts) {
    if (c.use === 'fitted') fitted++;
    if (c.converged) converged++;
    for (const k of Object.keys(flags) as (keyof typeof flags)[]) if (c.flags[k]) flags[k]++;
  }
  return {
    responses: fit.responses,
    log_lik: fit.logLik,
    concepts: fit.concepts.length,
    fitted,
    fallback: fit.concepts.length - fitted,
    converged,
    flags,
    row_iterations: fit.rowIterations,
  };
}
