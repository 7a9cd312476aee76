/** `bkt cv` through the real bin: a full report, independent of thread count, every row held out once. */
import { expect, it } from 'vitest';
import { bktJson } from '../support/bin.js';
import { dataPath } from '../support/data.js';

interface CvSummary {
  folds: number;
  pooled: { responses: number; auc: number; log_lik: number };
  fold_auc: { mean: number; sd: number };
  per_fold: { responses: number; auc: number; test_students: number }[];
  fallback: { row_share: number };
  input: { rows: number; students: number };
  seconds: number;
  rows_per_second: number;
}

it('cross-validates by student with the same result on 1 and 2 threads', () => {
  const args = ['cv', dataPath('ct_pybkt.csv'), '--folds', '3', '--restarts', '2', '--seed', '3'];
  const one = bktJson<CvSummary>([...args, '--threads', '1']);
  const two = bktJson<CvSummary>([...args, '--threads', '2']);
  expect(two.pooled).toEqual(one.pooled);
  expect(one.folds).toBe(3);
  expect(one.per_fold.length).toBe(3);
  expect(one.per_fold.reduce((a, f) => a + f.responses, 0)).toBe(one.input.rows);
  expect(one.per_fold.reduce((a, f) => a + f.test_students, 0)).toBe(one.input.students);
  expect(one.pooled.responses).toBe(one.input.rows);
  expect(one.pooled.auc).toBeGreaterThan(0.5);
  expect(one.fallback.row_share).toBeGreaterThanOrEqual(0);
  expect(Math.abs(one.rows_per_second * one.seconds - one.input.rows)).toBeLessThan(one.rows_per_second * 0.002 + 1);
});
