/**
 * The numbers behind a fit report, with no drawing: learning curves (observed error rate by opportunity with a
 * Wilson 95% interval and the students behind each point, against the model's predicted error rate), a verdict on
 * each curve (does it fall, does the model follow it), calibration by decile of predicted P(correct), histograms and
 * five-number summaries of parameters. Pure: the CLI and the service draw what these return.
 */
import type { SequenceSet } from './trace.js';
import type { GuessSlipValue } from './variants.js';

/** The normal quantile of a two-sided 95% interval. */
export const Z_95 = 1.959963984540054;

/** Wilson score interval of a proportion `successes / n` (z = 1.96 by default); [0, 1] when n is 0. */
export function wilsonInterval(successes: number, n: number, z: number = Z_95): { low: number; high: number } {
  if (!(n >= 0) || !(successes >= 0) || successes > n) throw new RangeError(`wilsonInterval: need 0 <= successes <= n, got ${successes} / ${n}`);
  if (n === 0) return { low: 0, high: 1 };
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/**
 * Per opportunity k = 1..maxOpportunity (index k-1): how many students reached it, how many of them answered wrong,
 * and the sum of the model's predicted P(wrong) over them. Sums, so that counts from several sources add up.
 */
export interface OpportunityCounts {
  readonly students: Float64Array;
  readonly errors: Float64Array;
  /** Sum of 1 - P(correct); NaN-free. Zero everywhere when no prediction was given. */
  readonly predictedErrors: Float64Array;
  /** Whether `predictedErrors` holds predictions. */
  readonly predicted: boolean;
}

/** Empty counts for opportunities 1..maxOpportunity. */
export function emptyOpportunityCounts(maxOpportunity: number, predicted: boolean): OpportunityCounts {
  if (!Number.isInteger(maxOpportunity) || maxOpportunity < 1) throw new RangeError(`maxOpportunity must be an integer >= 1, got ${maxOpportunity}`);
  return {
    students: new Float64Array(maxOpportunity),
    errors: new Float64Array(maxOpportunity),
    predictedErrors: new Float64Array(maxOpportunity),
    predicted,
  };
}

/**
 * Counts a concept's sequences by opportunity: the k-th row of each sequence is opportunity k. `pCorrect`, when
 * given, is indexed like `seqs.responses` (as `traceMastery` writes it). Rows past `maxOpportunity` are left out.
 */
export function countOpportunities(seqs: SequenceSet, pCorrect: Float64Array | null, maxOpportunity: number): OpportunityCounts {
  const out = emptyOpportunityCounts(maxOpportunity, pCorrect !== null);
  const { students, errors, predictedErrors } = out;
  const { responses, offsets } = seqs;
  const nSeq = offsets.length - 1;
  for (let s = 0; s < nSeq; s++) {
    const start = offsets[s];
    const end = Math.min(offsets[s + 1], start + maxOpportunity);
    for (let t = start; t < end; t++) {
      const k = t - start;
      students[k]++;
      if (responses[t] === 0) errors[k]++;
      if (pCorrect) predictedErrors[k] += 1 - pCorrect[t];
    }
  }
  return out;
}

/** One point of a learning curve: the error rate at an opportunity, with its interval and prediction. */
export interface CurvePoint {
  /** 1 = a student's first response on the concept. */
  readonly opportunity: number;
  readonly students: number;
  readonly errorRate: number;
  /** Wilson 95% interval of the error rate. */
  readonly low: number;
  readonly high: number;
  /** Mean predicted P(wrong) over the same students; null without predictions. */
  readonly predictedErrorRate: number | null;
}

/** The curve's points: opportunities with at least `minStudents` students (and at least one), in order. */
export function curvePoints(counts: OpportunityCounts, minStudents = 1): CurvePoint[] {
  const points: CurvePoint[] = [];
  const floor = Math.max(1, minStudents);
  for (let k = 0; k < counts.students.length; k++) {
    const n = counts.students[k];
    if (n < floor) continue;
    const e = counts.errors[k];
    const { low, high } = wilsonInterval(e, n);
    points.push({
      opportunity: k + 1,
      students: n,
      errorRate: e / n,
      low,
      high,
      predictedErrorRate: counts.predicted ? counts.predictedErrors[k] / n : null,
    });
  }
  return points;
}

/** A gap between observed and predicted error rate (student-weighted mean, absolute) this large is a miss. */
export const MISFIT_GAP = 0.05;

/** Whether a concept's learning curve falls and how far the model's prediction is from it. */
export interface CurveVerdict {
  /** Student-weighted least-squares slope of the observed error rate per opportunity; null under two points. */
  readonly slope: number | null;
  /** False when the trend is flat or rising (slope >= 0): practice does not show learning. Null under two points. */
  readonly falls: boolean | null;
  /** Student-weighted mean of |observed - predicted|; null without predictions or points. */
  readonly gap: number | null;
  /** Share of points whose prediction lies outside the observed 95% interval; null without predictions or points. */
  readonly outside: number | null;
  /** The model misses the curve: gap >= MISFIT_GAP and at least half of the points outside their interval. */
  readonly misses: boolean | null;
  /** Human-readable reasons the curve stands out (empty when it does not). */
  readonly reasons: readonly string[];
}

/** Says whether a curve falls and whether the model follows it (see `CurveVerdict`). */
export function assessCurve(points: readonly CurvePoint[]): CurveVerdict {
  let w = 0;
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    w += p.students;
    sx += p.students * p.opportunity;
    sy += p.students * p.errorRate;
  }
  let slope: number | null = null;
  if (points.length >= 2) {
    const mx = sx / w;
    const my = sy / w;
    let sxy = 0;
    let sxx = 0;
    for (const p of points) {
      sxy += p.students * (p.opportunity - mx) * (p.errorRate - my);
      sxx += p.students * (p.opportunity - mx) * (p.opportunity - mx);
    }
    slope = sxy / sxx;
  }
  const predicted = points.length > 0 && points.every((p) => p.predictedErrorRate !== null);
  let gap: number | null = null;
  let outside: number | null = null;
  if (predicted) {
    let g = 0;
    let out = 0;
    for (const p of points) {
      const q = p.predictedErrorRate as number;
      g += p.students * Math.abs(p.errorRate - q);
      if (q < p.low || q > p.high) out++;
    }
    gap = g / w;
    outside = out / points.length;
  }
  const falls = slope === null ? null : slope < 0;
  const misses = gap === null || outside === null ? null : gap >= MISFIT_GAP && outside >= 0.5;
  const reasons: string[] = [];
  if (falls === false) reasons.push(`error rate does not fall with practice (slope ${slope!.toFixed(4)} per opportunity)`);
  if (misses) {
    reasons.push(`model misses the curve (mean gap ${gap!.toFixed(3)}, ${Math.round(outside! * 100)}% of points outside their 95% interval)`);
  }
  return { slope, falls, gap, outside, misses, reasons };
}

/** One bin of a calibration table: predicted against observed correct rate. */
export interface CalibrationBin {
  /** 1..bins, by increasing predicted P(correct). */
  readonly bin: number;
  readonly rows: number;
  readonly meanPredicted: number;
  readonly observed: number;
  /** Wilson 95% interval of the observed correct rate. */
  readonly low: number;
  readonly high: number;
}

/**
 * Calibration: rows are split at the deciles (by default) of their predicted P(correct); each bin gives the mean
 * prediction against the observed correct rate. A row equal to a cut point goes to the lower bin, so heavily tied
 * predictions give fewer, unequal bins; empty bins are left out.
 */
export function calibrationBins(responses: Uint8Array, pCorrect: Float64Array, bins = 10): CalibrationBin[] {
  const n = responses.length;
  if (pCorrect.length !== n) throw new RangeError(`pCorrect has ${pCorrect.length} values for ${n} responses`);
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be an integer >= 1, got ${bins}`);
  if (n === 0) return [];
  const sorted = Float64Array.from(pCorrect).sort();
  // cuts[b] is the upper edge (inclusive) of bin b; the last is the maximum.
  const cuts = new Float64Array(bins);
  for (let b = 0; b < bins; b++) cuts[b] = sorted[Math.min(n - 1, Math.ceil(((b + 1) * n) / bins) - 1)];
  const rows = new Float64Array(bins);
  const correct = new Float64Array(bins);
  const sum = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const p = pCorrect[i];
    let lo = 0;
    let hi = bins - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (p <= cuts[mid]) hi = mid;
      else lo = mid + 1;
    }
    rows[lo]++;
    sum[lo] += p;
    if (responses[i] !== 0) correct[lo]++;
  }
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    if (rows[b] === 0) continue;
    const { low, high } = wilsonInterval(correct[b], rows[b]);
    out.push({ bin: b + 1, rows: rows[b], meanPredicted: sum[b] / rows[b], observed: correct[b] / rows[b], low, high });
  }
  return out;
}

/** Counts of `values` in `bins` equal-width bins over [lo, hi]; a value equal to hi goes to the last bin. */
export function histogram(values: ArrayLike<number>, bins: number, lo = 0, hi = 1): { lower: number; upper: number; count: number }[] {
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be an integer >= 1, got ${bins}`);
  if (!(hi > lo)) throw new RangeError(`histogram: need lo < hi, got [${lo}, ${hi}]`);
  const counts = new Array<number>(bins).fill(0);
  const width = (hi - lo) / bins;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= lo && v <= hi)) continue;
    counts[Math.min(bins - 1, Math.floor((v - lo) / width))]++;
  }
  return counts.map((count, b) => ({ lower: lo + b * width, upper: lo + (b + 1) * width, count }));
}

/** Minimum, quartiles (linear interpolation between order statistics) and maximum; null for no values. */
export function fiveNumbers(values: readonly number[]): { min: number; q1: number; median: number; q3: number; max: number } | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => {
    const x = q * (s.length - 1);
    const i = Math.floor(x);
    return i + 1 < s.length ? s[i] + (x - i) * (s[i + 1] - s[i]) : s[i];
  };
  return { min: s[0], q1: at(0.25), median: at(0.5), q3: at(0.75), max: s[s.length - 1] };
}

/** A value's guess and slip (e.g. an item's) with its difficulty. */
export interface ItemDifficulty extends GuessSlipValue {
  /** The error rate expected of a student who meets the item at the concept's prior: 1 − [prior(1 − slip) + (1 − prior)guess]. */
  readonly difficulty: number;
}

/** Per-value guess and slip ranked hardest first (by difficulty at the concept's `prior`; ties by value). */
export function rankItemDifficulty(values: readonly GuessSlipValue[], prior: number): ItemDifficulty[] {
  if (!(prior >= 0 && prior <= 1)) throw new RangeError(`rankItemDifficulty: prior must be in [0, 1], got ${prior}`);
  return values
    .map((v) => ({ ...v, difficulty: 1 - (prior * (1 - v.slip) + (1 - prior) * v.guess) }))
    .sort((a, b) => b.difficulty - a.difficulty || compareValues(a.value, b.value));
}

/** Per-value estimates ranked highest first by `key` (ties by value). */
export function rankValues<T extends { readonly value: string }>(values: readonly T[], key: (v: T) => number): T[] {
  return [...values].sort((a, b) => key(b) - key(a) || compareValues(a.value, b.value));
}

function compareValues(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
