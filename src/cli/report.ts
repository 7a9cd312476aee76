/** `bkt report`: one self-contained HTML page showing a params file's fit on a response log. */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import {
  assessCurve, type CalibrationBin, conceptSequences, countOpportunities, curvePoints, evaluateDataset, type ResponseData,
} from '../bkt/index.js';
import { type CvSummary, type FitReport, renderFitReport, type ReportConcept, standsOut } from '../report/fit-report.js';
import { startRenderers } from '../report/render-pool.js';
import { traceDataset } from './apply-params.js';
import { InputError, systemMessage, UsageError } from './errors.js';
import { loadResponseData } from './load.js';
import { addColumnOptions, addJsonOption, columnNames, type ColumnOptions, count, parseInteger } from './options.js';
import { AtomicOutput } from './output.js';
import { type LoadedParams, paramsForConcept, readParamsFile } from './params-file.js';
import { makeProgress } from './progress.js';
import { round } from './summary.js';
import { addVariantOptions, type VariantCliOptions, variantColumnsFor } from './variant-options.js';
import { VERSION } from './version.js';

interface ReportOptions extends ColumnOptions, VariantCliOptions {
  params: string;
  cv?: string;
  output: string;
  maxOpportunity: number;
  minStudents: number;
  json: boolean;
}

export function registerReport(program: Command): void {
  const cmd = program
    .command('report')
    .summary('write an HTML report of a fit: learning curves, parameters, every concept, cross-validation')
    .description(
      'Traces the response log with the params file (as `bkt evaluate` does) and writes one HTML page that opens ' +
        'offline: per concept the observed error rate by opportunity with a Wilson 95% interval, the students behind ' +
        'each point and the predicted error rate; curves that do not fall or that the model misses are marked; the ' +
        'fitted parameters across concepts with flagged and fallback concepts marked; a sortable table of every concept; ' +
        'the fit\'s options and input checksum; with --cv, the fold metrics and a calibration plot (from `bkt cv --json`). ' +
        'A params file fitted with variants is applied per value, and its per-value parameters are shown ranked: ' +
        'guess and slip per item by difficulty, learn and prior per value.',
    )
    .argument('<data>', 'response log: CSV, or gzip-compressed CSV when the name ends in .gz')
    .requiredOption('--params <file>', 'params file from `bkt fit`')
    .option('--cv <file>', 'cross-validation summary from `bkt cv --json`')
    .requiredOption('-o, --output <file>', 'HTML file to write, atomically ("-" for stdout)')
    .option('--max-opportunity <n>', 'last opportunity drawn on the learning curves', parseInteger(1, 1000), 20)
    .option('--min-students <n>', 'fewest students behind a learning-curve point', parseInteger(1), 10);
  addJsonOption(addColumnOptions(addVariantOptions(cmd, false))).action(async (file: string, o: ReportOptions) => runReport(file, o));
}

async function runReport(file: string, o: ReportOptions): Promise<void> {
  if (o.json && o.output === '-') throw new UsageError('--json prints the summary on stdout: give -o a file name');
  const t0 = performance.now();
  const source = readParamsFile(o.params);
  const raw = readJson(o.params) as Record<string, unknown>;
  const cv = o.cv === undefined ? null : readCvFile(o.cv);
  const output = new AtomicOutput(o.output);
  // A chart worker loads and warms up Vega while the CSV is read. One is enough: the charts take a fraction of a
  // second once Vega is loaded, and each further worker would load it again.
  const renderers = startRenderers(1);
  try {
    const variants = { columns: variantColumnsFor(source, o), fitting: false };
    const { log, data, seconds: loading } = await loadResponseData(file, columnNames(o), makeProgress(), variants);
    const t1 = performance.now();
    const pCorrect = new Float64Array(data.responses.length);
    const usage = traceDataset(data, source, source.threshold, { pCorrect });
    const concepts = reportConcepts(data, source, raw, pCorrect, o);
    const report: FitReport = {
      generator: `bkt-engine ${VERSION}`,
      data: { file: basename(file), sha256: log.sha256, rows: data.responses.length, students: data.studentIds.length, concepts: data.conceptIds.length },
      params: paramsSummary(o.params, raw, source),
      maxOpportunity: o.maxOpportunity,
      minStudents: o.minStudents,
      concepts,
      cv,
      unseen: usage.unseen,
    };
    const t2 = performance.now();
    const html = await renderFitReport(report, renderers.render);
    const t3 = performance.now();
    output.write(html);
    output.commit();
    const t4 = performance.now();
    const seconds = round((t4 - t0) / 1000, 3);
    const bytes = Buffer.byteLength(html);
    const nOut = concepts.filter(standsOut).length;
    if (o.json) {
      const phases = {
        parse: round(loading.parse, 3),
        group: round(loading.group, 3),
        trace: round((t2 - t1) / 1000, 3),
        render: round((t3 - t2) / 1000, 3),
        write: round((t4 - t3) / 1000, 3),
      };
      const summary = { command: 'report', output: o.output, bytes, concepts: concepts.length, curves_standing_out: nOut, seconds, phases };
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      return;
    }
    const say = o.output === '-' ? process.stderr : process.stdout;
    say.write(
      `report of ${count(concepts.length)} concepts on ${count(data.responses.length)} rows -> ${o.output} ` +
        `(${(bytes / 1e6).toFixed(2)} MB, ${seconds} s); ${count(nOut)} learning curve${nOut === 1 ? '' : 's'} stand${nOut === 1 ? 's' : ''} out\n`,
    );
  } finally {
    output.abort();
    await renderers.close();
  }
}

/** Every concept of the log as the report shows it: curves that stand out first, then flagged ones, then by responses. */
function reportConcepts(
  data: ResponseData,
  source: LoadedParams,
  raw: Record<string, unknown>,
  pCorrect: Float64Array,
  o: ReportOptions,
): ReportConcept[] {
  const metrics = evaluateDataset(data, pCorrect);
  const extras = conceptExtras(raw);
  const concepts: ReportConcept[] = data.conceptIds.map((conceptId, c) => {
    const points = curvePoints(countOpportunities(conceptSequences(data, c), pCorrect, o.maxOpportunity), o.minStudents);
    const { how } = paramsForConcept(source, conceptId);
    const entry = source.concepts.get(conceptId);
    const extra = extras.get(conceptId);
    const first = data.conceptSeqs[c];
    const last = data.conceptSeqs[c + 1];
    return {
      conceptId,
      use: how,
      params: entry?.params ?? source.fallback,
      flags: extra?.flags ?? [],
      reasons: how === 'absent' ? ['not in the params file: predicted with the fallback'] : (extra?.reasons ?? []),
      responses: metrics.concepts[c].responses,
      students: last - first,
      logLik: metrics.concepts[c].logLik,
      auc: metrics.concepts[c].auc,
      opportunitiesToMastery: extra?.opportunitiesToMastery ?? null,
      curve: points,
      verdict: assessCurve(points),
      perValue: how === 'fitted' ? (entry?.perValue ?? null) : null,
    };
  });
  return concepts.sort(
    (a, b) =>
      Number(standsOut(b)) - Number(standsOut(a)) || Number(b.flags.length > 0) - Number(a.flags.length > 0) || b.responses - a.responses,
  );
}

/** The params file as the report describes it: its generator, schema, the fit's input and options, the fallback. */
function paramsSummary(path: string, raw: Record<string, unknown>, source: LoadedParams): FitReport['params'] {
  const input = (raw.input ?? {}) as Record<string, unknown>;
  return {
    file: basename(path),
    generator: String(raw.generator ?? 'unknown'),
    schemaVersion: Number(raw.schema_version),
    fitInput: { file: String(input.file ?? 'unknown'), sha256: String(input.sha256 ?? 'unknown') },
    options: (raw.options ?? {}) as Record<string, unknown>,
    fallback: { source: source.fallbackSource, params: source.fallback },
  };
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InputError(path, null, systemMessage(err as NodeJS.ErrnoException));
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(path, null, `not valid JSON (${(err as Error).message})`);
  }
}

interface ConceptExtra {
  readonly flags: string[];
  readonly reasons: string[];
  readonly opportunitiesToMastery: number | null;
}

/** The params file's per-concept flags, reasons and opportunities to mastery (checked by readParamsFile already). */
function conceptExtras(raw: Record<string, unknown>): Map<string, ConceptExtra> {
  const out = new Map<string, ConceptExtra>();
  for (const entry of (raw.concepts as Record<string, unknown>[]) ?? []) {
    const flags = entry.flags && typeof entry.flags === 'object' ? Object.entries(entry.flags).filter(([, v]) => v === true).map(([k]) => k) : [];
    const reasons = Array.isArray(entry.reasons) ? entry.reasons.map(String) : [];
    const otm = entry.opportunities_to_mastery;
    out.set(String(entry.concept_id), { flags, reasons, opportunitiesToMastery: typeof otm === 'number' ? otm : null });
  }
  return out;
}

/** Reads `bkt cv --json` output; a missing or malformed field is an InputError naming it. */
export function readCvFile(path: string): CvSummary {
  const json = readJson(path);
  const fail = (field: string, problem: string): never => {
    throw new InputError(path, null, `${field}: ${problem} (expected the output of \`bkt cv --json\`)`);
  };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return fail('(top level)', 'not a JSON object');
  const j = json as Record<string, unknown>;
  if (j.command !== 'cv') fail('command', `is ${JSON.stringify(j.command)}, not "cv"`);
  const number = (v: unknown, field: string): number => (typeof v === 'number' ? v : fail(field, 'expected a number'));
  const nullable = (v: unknown, field: string): number | null => (v === null ? null : number(v, field));
  const metrics = (m: unknown, field: string) => {
    if (typeof m !== 'object' || m === null) return fail(field, 'expected an object');
    const x = m as Record<string, unknown>;
    return {
      responses: number(x.responses, `${field}.responses`),
      logLik: number(x.log_lik, `${field}.log_lik`),
      rmse: number(x.rmse, `${field}.rmse`),
      accuracy: number(x.accuracy, `${field}.accuracy`),
      auc: nullable(x.auc, `${field}.auc`),
    };
  };
  if (!Array.isArray(j.per_fold)) fail('per_fold', 'expected an array');
  const foldAuc = (j.fold_auc ?? {}) as Record<string, unknown>;
  let calibration: CalibrationBin[] | null = null;
  if (j.calibration !== undefined) {
    if (!Array.isArray(j.calibration)) fail('calibration', 'expected an array');
    calibration = (j.calibration as Record<string, unknown>[]).map((b, i) => ({
      bin: number(b.bin, `calibration[${i}].bin`),
      rows: number(b.rows, `calibration[${i}].rows`),
      meanPredicted: number(b.mean_predicted, `calibration[${i}].mean_predicted`),
      observed: number(b.observed, `calibration[${i}].observed`),
      low: number(b.low, `calibration[${i}].low`),
      high: number(b.high, `calibration[${i}].high`),
    }));
  }
  const input = (j.input ?? {}) as Record<string, unknown>;
  return {
    file: basename(path),
    folds: number(j.folds, 'folds'),
    seed: number(j.seed, 'seed'),
    inputSha256: typeof input.sha256 === 'string' ? input.sha256 : null,
    pooled: metrics(j.pooled, 'pooled'),
    foldAuc: { mean: nullable(foldAuc.mean ?? null, 'fold_auc.mean'), sd: nullable(foldAuc.sd ?? null, 'fold_auc.sd') },
    perFold: (j.per_fold as Record<string, unknown>[]).map((f, i) => ({
      fold: number(f.fold, `per_fold[${i}].fold`),
      trainStudents: number(f.train_students, `per_fold[${i}].train_students`),
      testStudents: number(f.test_students, `per_fold[${i}].test_students`),
      ...metrics(f, `per_fold[${i}]`),
    })),
    calibration,
  };
}

