/** The report's numbers: Wilson intervals, learning curves and their verdicts, calibration bins, histograms. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TEST_SEED } from '../support/seed.js';
import {
  assessCurve, calibrationBins, countOpportunities, curvePoints, fiveNumbers, histogram, rankItemDifficulty, rankValues,
  wilsonInterval, type CurvePoint,
} from '../../src/bkt/index.js';

function seqs(...sequences: number[][]) {
  const offsets = [0];
  for (const s of sequences) offsets.push(offsets[offsets.length - 1] + s.length);
  return { responses: Uint8Array.from(sequences.flat()), offsets: Uint32Array.from(offsets) };
}

describe('wilsonInterval', () => {
  it('matches the textbook values', () => {
    // 8 of 10: centre (0.8 + 1.92/10) / 1.384 = 0.7167; half-width 0.2215 (Wilson 1927; Newcombe 1998 table I).
    const a = wilsonInterval(8, 10);
    expect(a.low).toBeCloseTo(0.4902, 4);
    expect(a.high).toBeCloseTo(0.9433, 4);
    const b = wilsonInterval(0, 10);
    expect(b.low).toBe(0);
    expect(b.high).toBeCloseTo(0.2775, 4);
    expect(wilsonInterval(0, 0)).toEqual({ low: 0, high: 1 });
  });

  it('holds the proportion and stays in [0, 1], narrowing as n grows', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (n, share) => {
        const k = Math.round(share * n);
        const { low, high } = wilsonInterval(k, n);
        const wide = wilsonInterval(Math.round(share * n) * 4, n * 4);
        return low >= 0 && high <= 1 && low <= k / n + 1e-12 && high >= k / n - 1e-12 && wide.high - wide.low <= high - low + 1e-12;
      }),
      { seed: TEST_SEED, numRuns: 200 },
    );
  });

  it('refuses successes above n', () => {
    expect(() => wilsonInterval(3, 2)).toThrow(RangeError);
  });
});

describe('learning curves', () => {
  // Three students: 0 1 1 / 0 0 / 1. Opportunity 1: 3 students, 2 wrong; 2: 2 students, 1 wrong; 3: 1, 0 wrong.
  const data = seqs([0, 1, 1], [0, 0], [1]);

  it('counts students, errors and predicted errors by opportunity', () => {
    const p = Float64Array.from([0.4, 0.5, 0.6, 0.4, 0.45, 0.4]);
    const c = countOpportunities(data, p, 5);
    expect([...c.students]).toEqual([3, 2, 1, 0, 0]);
    expect([...c.errors]).toEqual([2, 1, 0, 0, 0]);
    expect(c.predictedErrors[0]).toBeCloseTo(0.6 + 0.6 + 0.6, 12);
    expect(c.predictedErrors[1]).toBeCloseTo(0.5 + 0.55, 12);
    const points = curvePoints(c);
    expect(points.map((x) => [x.opportunity, x.students, x.errorRate])).toEqual([[1, 3, 2 / 3], [2, 2, 0.5], [3, 1, 0]]);
    expect(points[0].predictedErrorRate).toBeCloseTo(0.6, 12);
    expect(points[0].low).toBeCloseTo(wilsonInterval(2, 3).low, 12);
  });

  it('cuts at maxOpportunity and drops points under minStudents', () => {
    const c = countOpportunities(data, null, 2);
    expect([...c.students]).toEqual([3, 2]);
    expect(curvePoints(c, 3).map((x) => x.opportunity)).toEqual([1]);
    expect(curvePoints(c)[0].predictedErrorRate).toBeNull();
    expect(() => countOpportunities(data, null, 0)).toThrow(RangeError);
  });

  const point = (opportunity: number, students: number, errorRate: number, predicted: number | null): CurvePoint => ({
    opportunity,
    students,
    errorRate,
    ...wilsonInterval(Math.round(errorRate * students), students),
    predictedErrorRate: predicted,
  });

  it('a falling curve that the model follows does not stand out', () => {
    const v = assessCurve([point(1, 100, 0.6, 0.58), point(2, 100, 0.4, 0.42), point(3, 100, 0.3, 0.3)]);
    // Equal weights: slope = ((-1)(0.6-0.4333) + (1)(0.3-0.4333)) / 2 = -0.15.
    expect(v.slope).toBeCloseTo(-0.15, 12);
    expect(v.falls).toBe(true);
    expect(v.gap).toBeCloseTo((0.02 + 0.02 + 0) / 3, 12);
    expect(v.misses).toBe(false);
    expect(v.reasons).toEqual([]);
  });

  it('a flat curve, and a curve the model misses, stand out with reasons', () => {
    const flat = assessCurve([point(1, 50, 0.3, 0.5), point(2, 50, 0.3, 0.4), point(3, 50, 0.32, 0.3)]);
    expect(flat.falls).toBe(false);
    expect(flat.reasons[0]).toMatch(/does not fall/);
    const missed = assessCurve([point(1, 1000, 0.6, 0.3), point(2, 1000, 0.5, 0.25), point(3, 1000, 0.4, 0.2)]);
    expect(missed.falls).toBe(true);
    expect(missed.misses).toBe(true);
    expect(missed.outside).toBe(1);
    expect(missed.reasons).toEqual([expect.stringMatching(/model misses the curve \(mean gap 0\.250, 100% of points/)]);
  });

  it('gives no verdict on one point, nor a fit verdict without predictions', () => {
    const v = assessCurve([point(1, 10, 0.5, null)]);
    expect(v.slope).toBeNull();
    expect(v.falls).toBeNull();
    expect(v.misses).toBeNull();
  });
});

describe('calibrationBins', () => {
  it('splits at deciles and compares mean prediction with observed rate', () => {
    // 20 rows, predictions 0.025, 0.075, ... 0.975; the first 10 rows wrong, the last 10 right.
    const p = Float64Array.from({ length: 20 }, (_, i) => 0.025 + 0.05 * i);
    const r = Uint8Array.from({ length: 20 }, (_, i) => (i >= 10 ? 1 : 0));
    const bins = calibrationBins(r, p);
    expect(bins).toHaveLength(10);
    expect(bins.map((b) => b.rows)).toEqual(new Array(10).fill(2));
    expect(bins[0].meanPredicted).toBeCloseTo(0.05, 12);
    expect(bins[0].observed).toBe(0);
    expect(bins[9].observed).toBe(1);
    expect(bins[9].low).toBeCloseTo(wilsonInterval(2, 2).low, 12);
  });

  it('keeps tied predictions in one bin and every row in some bin', () => {
    const p = Float64Array.from([0.3, 0.3, 0.3, 0.3, 0.9]);
    const bins = calibrationBins(Uint8Array.from([0, 1, 0, 0, 1]), p);
    expect(bins.map((b) => [b.rows, b.observed])).toEqual([[4, 0.25], [1, 1]]);
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0.001, max: 0.999, noNaN: true }), { minLength: 1, maxLength: 200 }), (xs) => {
        const out = calibrationBins(new Uint8Array(xs.length), Float64Array.from(xs));
        return out.reduce((a, b) => a + b.rows, 0) === xs.length && out.every((b, i) => i === 0 || b.meanPredicted > out[i - 1].meanPredicted);
      }),
      { seed: TEST_SEED, numRuns: 100 },
    );
    expect(calibrationBins(new Uint8Array(0), new Float64Array(0))).toEqual([]);
  });
});

describe('histogram and fiveNumbers', () => {
  it('bins values over [0, 1], the top edge in the last bin', () => {
    expect(histogram([0, 0.1, 0.25, 0.5, 1, 2], 4).map((b) => b.count)).toEqual([2, 1, 1, 1]);
  });

  it('gives quartiles by interpolation', () => {
    expect(fiveNumbers([4, 1, 3, 2, 5])).toEqual({ min: 1, q1: 2, median: 3, q3: 4, max: 5 });
    expect(fiveNumbers([1, 2])).toEqual({ min: 1, q1: 1.25, median: 1.5, q3: 1.75, max: 2 });
    expect(fiveNumbers([])).toBeNull();
  });
});

describe('rankItemDifficulty and rankValues', () => {
  const items = [
    { value: 'easy', guess: 0.6, slip: 0.05, rows: 10 },
    { value: 'hard', guess: 0.05, slip: 0.3, rows: 20 },
    { value: 'mid', guess: 0.2, slip: 0.1, rows: 30 },
    { value: 'alsomid', guess: 0.2, slip: 0.1, rows: 5 },
  ];

  it('ranks items hardest first by the error rate at the concept prior, ties by value', () => {
    const ranked = rankItemDifficulty(items, 0.3);
    expect(ranked.map((r) => r.value)).toEqual(['hard', 'alsomid', 'mid', 'easy']);
    // hard: 1 - (0.3 * 0.7 + 0.7 * 0.05) = 0.755
    expect(ranked[0].difficulty).toBeCloseTo(0.755, 12);
    expect(ranked[0].rows).toBe(20);
    for (const r of ranked) expect(r.difficulty).toBeCloseTo(1 - (0.3 * (1 - r.slip) + 0.7 * r.guess), 12);
  });

  it('weighs slip more as the prior grows: at prior 1 only slip counts', () => {
    const a = { value: 'a', guess: 0.0, slip: 0.1, rows: 1 };
    const b = { value: 'b', guess: 0.5, slip: 0.2, rows: 1 };
    expect(rankItemDifficulty([a, b], 0).map((r) => r.value)).toEqual(['a', 'b']);
    expect(rankItemDifficulty([a, b], 1).map((r) => r.value)).toEqual(['b', 'a']);
    expect(() => rankItemDifficulty([a], 1.5)).toThrow(RangeError);
  });

  it('ranks other per-value estimates highest first, ties by value, without changing the input', () => {
    const learn = [
      { value: 't2', learn: 0.1, forget: 0, rows: 3 },
      { value: 't1', learn: 0.4, forget: 0, rows: 3 },
      { value: 't0', learn: 0.1, forget: 0, rows: 3 },
    ];
    expect(rankValues(learn, (v) => v.learn).map((v) => v.value)).toEqual(['t1', 't0', 't2']);
    expect(learn.map((v) => v.value)).toEqual(['t2', 't1', 't0']);
  });
});
