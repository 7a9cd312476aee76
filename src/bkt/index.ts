/**
 * bkt-engine's pure core: no I/O, no Node built-ins, no dependencies; runs unchanged in a browser. This file is the
 * public API, named export by named export: what is not listed here (the E-step and M-step kernels, fit planning,
 * growable buffers, unit keys) is internal and may change without notice. etc/bkt-engine.api.md is its report,
 * regenerated with `npm run api:report`; `npm test` fails when the two differ.
 */

// The model's parameters and the mastery threshold.
export {
  type BktParams,
  type ParamName,
  PARAM_NAMES,
  DEFAULT_PARAMS,
  DEFAULT_THRESHOLD,
  checkParams,
  makeParams,
  checkThreshold,
} from './params.js';

// One answer at a time: the exact update a service applies per response.
export { type MasteryState, type ResponseUpdate, initialState, stateFromLevel, predictCorrect, updateMastery } from './update.js';

// Many answers at once: response logs as flat arrays, traced per concept.
export { type ResponseData, conceptSequences } from './dataset.js';
export { type SequenceSet, type TraceColumns, NO_OBSERVATION, traceMastery } from './trace.js';
export { type ResponseRows, type NonContiguousStudent, type BuiltData, type BuildOptions, internRows, buildResponseData } from './build.js';

// The model variants: guess/slip, learn/forget and prior per value of a column (pyBKT's multigs, multilearn, multiprior).
export {
  type VariantKind,
  VARIANT_KINDS,
  type RowValues,
  type VariantRows,
  type VariantColumn,
  type VariantData,
  type GuessSlipValue,
  type LearnValue,
  type PriorValue,
  type PerValueParams,
  type RowVariantValues,
  paramsForRow,
} from './variants.js';
export { type UnseenValues, traceMasteryByValue } from './trace-variants.js';

// Fitting with EM.
export { type Bounds, type Fallback, type FitOptions, NO_BOUNDS, DEFAULT_FIT_OPTIONS, makeFitOptions } from './options.js';
export { logLikelihood } from './em.js';
export { type ConceptFit, type FallbackFit, type DatasetFit, fitDataset, paramsFor } from './fit.js';
export {
  type QualityFlags,
  MIN_STUDENTS,
  MIN_RESPONSES,
  MIN_LONG_SEQUENCES,
  SLOW_MASTERY,
  type MasteryAdvice,
  masteryAdvice,
  masteryCeiling,
  degeneracyReasons,
  opportunitiesToMastery,
} from './quality.js';

// Evaluating predictions and cross-validating.
export {
  type Metrics,
  type ConceptMetrics,
  type DatasetMetrics,
  ACCURACY_THRESHOLD,
  scorePredictions,
  auc,
  evaluateDataset,
  meanConceptAuc,
} from './evaluate.js';
export {
  type CvOptions,
  type FitFunction,
  type FallbackUse,
  type CvFallback,
  type CvFold,
  type CvResult,
  type FoldSpread,
  type FoldConceptParams,
  crossValidate,
} from './cv.js';

// Model reports: learning curves, calibration, intervals.
export {
  Z_95,
  wilsonInterval,
  type OpportunityCounts,
  emptyOpportunityCounts,
  countOpportunities,
  type CurvePoint,
  curvePoints,
  MISFIT_GAP,
  type CurveVerdict,
  assessCurve,
  type CalibrationBin,
  calibrationBins,
  histogram,
  fiveNumbers,
  type ItemDifficulty,
  rankItemDifficulty,
  rankValues,
} from './report.js';
