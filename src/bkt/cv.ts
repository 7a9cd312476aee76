/**
 * Cross-validation by student: students are shuffled with a seeded PRNG and dealt into k folds; each fold's
 * students are held out while the model is fitted on the others, and every held-out row is predicted from the
 * same student's earlier rows on that concept (its trace from the prior). Concepts absent from the training fold,
 * or marked few_data or degenerate there, are predicted with the fallback, and the report counts them.
 *
 * This differs from pyBKT's `crossvalidate`, which folds rows within one concept at a time: here a student's
 * whole history is unseen at training, which is the situation of a new student in production.
 */
import { conceptSequences, type ResponseData } from './dataset.js';
import { type ConceptMetrics, evaluateDataset, meanConceptAuc, type Metrics, scorePredictions } from './evaluate.js';
import { type DatasetFit, fitDataset } from './fit.js';
import type { FitOptions } from './options.js';
import type { BktParams } from './params.js';
import { makeRandom } from './restarts.js';
import { traceMastery } from './trace.js';
import { groupVariants, type PerValueParams } from './variants.js';
import { traceMasteryByValue, type UnseenValues } from './trace-variants.js';

/** How `crossValidate` splits students into folds. */
export interface CvOptions {
  /** Number of folds, at least 2. Default 5. */
  readonly folds: number;
  /** Seeds the student shuffle (and, through the fit options, the restarts). Default: the fit options' seed, or 0. */
  readonly seed: number;
  /**
   * Folds taken from the data instead of the shuffle (to replicate a published split): the fold (0..folds-1) of
   * every student index. `folds` is then the number of folds it uses.
   */
  readonly foldOfStudent?: Uint32Array;
}

/** Mean and sample standard deviation of a per-fold figure (over folds that have it). */
export interface FoldSpread {
  readonly mean: number | null;
  readonly sd: number | null;
}

/** Parameters one fold's training fit gave a concept. */
export interface FoldConceptParams {
  readonly conceptId: string;
  readonly use: 'fitted' | 'fallback';
  readonly params: BktParams;
  /** With variants: the per-value parameters of the fold's fit. */
  readonly perValue?: PerValueParams;
}

/** Fits a training set: `fitDataset` by default; the CLI passes its worker-thread version. */
export type FitFunction = (data: ResponseData, options: Partial<FitOptions>) => DatasetFit | Promise<DatasetFit>;

/** Why test rows were predicted with the fallback rather than their concept's own training fit. */
export interface FallbackUse {
  /** (fold, concept) pairs, and the test rows they hold. */
  readonly concepts: number;
  readonly rows: number;
}

/** How many test rows of a fold used the fallback, by reason. */
export interface CvFallback {
  /** The concept had no rows in the training folds. */
  readonly absent: FallbackUse;
  /** Its training fit was degenerate (it may also have had few data). */
  readonly degenerate: FallbackUse;
  /** Its training fit had too few data (and was not degenerate). */
  readonly fewData: FallbackUse;
  /** Test rows predicted with the fallback, as a share of all test rows. */
  readonly rowShare: number;
}

/** One fold's held-out metrics, its sizes and its fallback use. */
export interface CvFold extends Metrics {
  readonly fold: number;
  readonly trainStudents: number;
  readonly testStudents: number;
  readonly trainLogLik: number;
  readonly fallback: CvFallback;
  /** With variants: test rows (for prior, sequences) whose value was not seen in training and took the concept's own. */
  readonly unseen: UnseenValues;
  /** The training fit's parameters: per concept, and the fallback. */
  readonly params: { readonly concepts: readonly FoldConceptParams[]; readonly fallback: BktParams; readonly fallbackSource: string };
}

/** The cross-validation report: pooled and per-fold metrics, per-concept AUC and fallback use. */
export interface CvResult {
  readonly folds: number;
  readonly seed: number;
  /** Every row is a test row once: metrics over all of them together. */
  readonly pooled: Metrics;
  /** Mean and sample standard deviation of the per-fold AUCs (folds with an AUC). */
  readonly foldAuc: FoldSpread;
  /** Mean and sample sd across folds of AUC, RMSE, accuracy and log-likelihood. */
  readonly acrossFolds: { readonly auc: FoldSpread; readonly rmse: FoldSpread; readonly accuracy: FoldSpread; readonly logLik: FoldSpread };
  /** The fold of every row, indexed like `data.responses`. */
  readonly foldOfRow: Uint32Array;
  /** Per-concept AUC over the pooled test rows, averaged weighted by rows and unweighted. */
  readonly conceptAuc: { readonly rowWeighted: number | null; readonly macro: number | null };
  readonly concepts: readonly ConceptMetrics[];
  readonly fallback: CvFallback;
  /** With variants: held-out rows (for prior, sequences) whose value was not seen in training, over all folds. */
  readonly unseen: UnseenValues;
  readonly perFold: readonly CvFold[];
  /** P(correct) of every row when held out, indexed like `data.responses`. */
  readonly pCorrect: Float64Array;
}

/** The fold (0..k-1) of every student index: a seeded Fisher-Yates shuffle, then dealt round-robin. */
export function assignFolds(data: ResponseData, folds: number, seed: number): Uint32Array {
  checkFolds(folds, data.studentIds.length);
  const n = data.studentIds.length;
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  const rand = makeRandom(seed, 'cross-validation', folds);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const fold = new Uint32Array(n);
  for (let i = 0; i < n; i++) fold[order[i]] = i % folds;
  return fold;
}

function checkFolds(folds: number, students: number): void {
  if (!Number.isInteger(folds) || folds < 2) throw new RangeError(`folds must be an integer >= 2, got ${folds}`);
  if (folds > students) throw new RangeError(`folds (${folds}) must not exceed the number of students (${students})`);
}

/** The rows of the students for whom `keep[student]` is true, with the same concept and student tables. */
export interface StudentSubset {
  readonly data: ResponseData;
  /** Grouped row of the subset -> grouped row of the full data. */
  readonly fullRow: Uint32Array;
}

export function selectStudents(data: ResponseData, keep: (student: number) => boolean): StudentSubset {
  const nSeq = data.offsets.length - 1;
  let nRows = 0;
  let kept = 0;
  for (let s = 0; s < nSeq; s++) {
    if (keep(data.seqStudent[s])) {
      nRows += data.offsets[s + 1] - data.offsets[s];
      kept++;
    }
  }
  const responses = new Uint8Array(nRows);
  const rowOf = new Uint32Array(nRows);
  const fullRow = new Uint32Array(nRows);
  const offsets = new Uint32Array(kept + 1);
  const seqStudent = new Uint32Array(kept);
  const conceptSeqs = new Uint32Array(data.conceptIds.length + 1);
  let row = 0;
  let seq = 0;
  for (let c = 0; c < data.conceptIds.length; c++) {
    for (let s = data.conceptSeqs[c]; s < data.conceptSeqs[c + 1]; s++) {
      if (!keep(data.seqStudent[s])) continue;
      for (let t = data.offsets[s]; t < data.offsets[s + 1]; t++) {
        responses[row] = data.responses[t];
        rowOf[row] = data.rowOf[t];
        fullRow[row] = t;
        row++;
      }
      seqStudent[seq] = data.seqStudent[s];
      offsets[++seq] = row;
    }
    conceptSeqs[c + 1] = seq;
  }
  const subset = { ...data, responses, offsets, conceptSeqs, seqStudent, rowOf };
  const variants = groupVariants(data.variants, fullRow, subset);
  return { data: variants === undefined ? subset : { ...subset, variants }, fullRow };
}

const NO_UNSEEN: UnseenValues = Object.freeze({ guessSlip: 0, learn: 0, prior: 0 });

function addUnseen(a: UnseenValues, b: UnseenValues): UnseenValues {
  return { guessSlip: a.guessSlip + b.guessSlip, learn: a.learn + b.learn, prior: a.prior + b.prior };
}

function emptyUse(): { concepts: number; rows: number } {
  return { concepts: 0, rows: 0 };
}

/** Fallback use being counted, by reason. */
type UseByReason = Record<'absent' | 'degenerate' | 'fewData', { concepts: number; rows: number }>;

function emptyUseByReason(): UseByReason {
  return { absent: emptyUse(), degenerate: emptyUse(), fewData: emptyUse() };
}

/**
 * Predicts one fold's held-out rows from its training fit: each concept with its own fitted parameters (per value
 * with variants), or the fallback, counted by reason.
 */
function predictHeldOut(
  data: ResponseData,
  test: ResponseData,
  model: DatasetFit,
): { pCorrect: Float64Array; use: UseByReason; unseen: UnseenValues } {
  const byId = new Map(model.concepts.map((c) => [c.conceptId, c]));
  const use = emptyUseByReason();
  const pCorrect = new Float64Array(test.responses.length);
  let unseen = NO_UNSEEN;
  for (let c = 0; c < data.conceptIds.length; c++) {
    const seqs = conceptSequences(test, c);
    const rows = seqs.offsets[seqs.offsets.length - 1] - seqs.offsets[0];
    if (rows === 0) continue;
    const own = byId.get(data.conceptIds[c]);
    const reason = own === undefined ? 'absent' : own.use === 'fitted' ? null : own.flags.degenerate ? 'degenerate' : 'fewData';
    if (reason !== null) {
      use[reason].concepts++;
      use[reason].rows += rows;
    }
    if (own !== undefined && own.use === 'fitted' && own.perValue !== undefined) {
      const u = traceMasteryByValue(own.params, own.perValue, seqs, test.variants, { pCorrect }, model.options.threshold);
      unseen = addUnseen(unseen, u);
    } else {
      const params = own !== undefined && own.use === 'fitted' ? own.params : model.fallback.params;
      traceMastery(params, seqs, { pCorrect }, model.options.threshold);
    }
  }
  return { pCorrect, use, unseen };
}

/** The training fit's parameters as a fold reports them. */
function foldParams(model: DatasetFit): CvFold['params'] {
  return {
    concepts: model.concepts.map((c) => ({
      conceptId: c.conceptId, use: c.use, params: c.params, ...(c.perValue ? { perValue: c.perValue } : {}),
    })),
    fallback: model.fallback.params,
    fallbackSource: model.fallback.source,
  };
}

/** Runs k-fold student-level cross-validation (see the file comment). */
export async function crossValidate(
  data: ResponseData,
  options: Partial<CvOptions> & Partial<FitOptions> = {},
  fit: FitFunction = fitDataset,
  onFold?: (done: number, folds: number) => void,
): Promise<CvResult> {
  const { folds: requested = 5, foldOfStudent, ...fitOptions } = options;
  const seed = options.seed ?? 0;
  const folds = foldOfStudent ? checkGivenFolds(foldOfStudent, data.studentIds.length, requested) : requested;
  const foldOf = foldOfStudent ?? assignFolds(data, folds, seed);
  const pCorrect = new Float64Array(data.responses.length);
  const perFold: CvFold[] = [];
  const total = emptyUseByReason();
  let allUnseen = NO_UNSEEN;

  for (let f = 0; f < folds; f++) {
    const train = selectStudents(data, (s) => foldOf[s] !== f);
    const test = selectStudents(data, (s) => foldOf[s] === f);
    const model = await fit(train.data, fitOptions);
    const { pCorrect: local, use, unseen } = predictHeldOut(data, test.data, model);
    allUnseen = addUnseen(allUnseen, unseen);
    for (let t = 0; t < local.length; t++) pCorrect[test.fullRow[t]] = local[t];
    for (const k of ['absent', 'degenerate', 'fewData'] as const) {
      total[k].concepts += use[k].concepts;
      total[k].rows += use[k].rows;
    }
    const metrics = scorePredictions(test.data.responses, local);
    perFold.push({
      fold: f,
      ...metrics,
      trainStudents: countStudents(train.data),
      testStudents: countStudents(test.data),
      trainLogLik: model.logLik,
      fallback: withShare(use, metrics.responses),
      unseen,
      params: foldParams(model),
    });
    onFold?.(f + 1, folds);
  }
  return summarise(data, { folds, seed, foldOf, perFold, pCorrect, total, unseen: allUnseen });
}

/** The report over all folds: pooled metrics of every held-out row, spreads across folds, fallback use. */
function summarise(
  data: ResponseData,
  run: {
    folds: number; seed: number; foldOf: Uint32Array; perFold: CvFold[]; pCorrect: Float64Array; total: UseByReason; unseen: UnseenValues;
  },
): CvResult {
  const { folds, seed, foldOf, perFold, pCorrect, total } = run;
  const { overall, concepts } = evaluateDataset(data, pCorrect);
  const spread = (pick: (f: CvFold) => number | null): FoldSpread => {
    const xs = perFold.map(pick).filter((a): a is number => a !== null && !Number.isNaN(a));
    return { mean: mean(xs), sd: sampleSd(xs) };
  };
  const foldOfRow = new Uint32Array(data.responses.length);
  for (let s = 0; s + 1 < data.offsets.length; s++) foldOfRow.fill(foldOf[data.seqStudent[s]], data.offsets[s], data.offsets[s + 1]);
  return {
    folds,
    seed,
    pooled: overall,
    foldAuc: spread((f) => f.auc),
    acrossFolds: { auc: spread((f) => f.auc), rmse: spread((f) => f.rmse), accuracy: spread((f) => f.accuracy), logLik: spread((f) => f.logLik) },
    foldOfRow,
    conceptAuc: meanConceptAuc(concepts),
    concepts,
    fallback: withShare(total, overall.responses),
    unseen: run.unseen,
    perFold,
    pCorrect,
  };
}

function withShare(
  use: { absent: FallbackUse; degenerate: FallbackUse; fewData: FallbackUse },
  rows: number,
): CvFallback {
  const fallbackRows = use.absent.rows + use.degenerate.rows + use.fewData.rows;
  return { ...use, rowShare: rows === 0 ? 0 : fallbackRows / rows };
}

/** Checks given folds: every value below `folds`, and every fold holding a student. Returns the fold count. */
function checkGivenFolds(foldOf: Uint32Array, students: number, folds: number): number {
  if (foldOf.length !== students) throw new RangeError(`foldOfStudent has ${foldOf.length} values for ${students} students`);
  if (!Number.isInteger(folds) || folds < 2) throw new RangeError(`folds must be an integer >= 2, got ${folds}`);
  const used = new Uint8Array(folds);
  for (let s = 0; s < students; s++) {
    if (foldOf[s] >= folds) throw new RangeError(`foldOfStudent[${s}] = ${foldOf[s]} is not below folds (${folds})`);
    used[foldOf[s]] = 1;
  }
  const empty = used.indexOf(0);
  if (empty >= 0) throw new RangeError(`fold ${empty} holds no student`);
  return folds;
}

function countStudents(data: ResponseData): number {
  return new Set(data.seqStudent).size;
}

function mean(xs: readonly number[]): number | null {
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function sampleSd(xs: readonly number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs)!;
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) * (x - m), 0) / (xs.length - 1));
}
