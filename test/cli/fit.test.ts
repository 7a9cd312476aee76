/**
 * `bkt fit` through the real bin on real data: the params file it writes, read back by `bkt evaluate` and
 * `bkt predict --params`, gives the log-likelihood `fit` reported; the same seed gives byte-identical files with
 * 1 and 2 threads; concepts absent from the params file use the fallback and are counted.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bkt, bktJson, parseCsv, tempDir } from '../support/bin.js';
import { dataPath } from '../support/data.js';

const tmp = tempDir();
afterAll(tmp.cleanup);

interface FitSummary {
  log_lik: number;
  concepts: number;
  fitted: number;
  fallback: { source: string };
  input: { sha256: string; rows: number };
}

// statics2011 has concepts marked use: fallback, so the round trip also covers the fallback's substitution; it is
// also large enough for fitDatasetParallel to start a worker with --threads 2 (small sets stay on one thread).
const DATA = ['ct_pybkt.csv', 'assist2009_pybkt_subset.csv', 'statics2011.csv'];

describe.each(DATA)('bkt fit %s', (name) => {
  const params1 = join(tmp.dir, `${name}.t1.json`);
  const params2 = join(tmp.dir, `${name}.t2.json`);
  let summary: FitSummary;

  beforeAll(() => {
    summary = bktJson<FitSummary>(['fit', dataPath(name), '-o', params1, '--threads', '1', '--seed', '7']);
  });

  it('writes the same bytes with 2 threads as with 1', () => {
    const again = bktJson<FitSummary>(['fit', dataPath(name), '-o', params2, '--threads', '2', '--seed', '7']);
    expect(again.log_lik).toBe(summary.log_lik);
    expect(readFileSync(params2)).toEqual(readFileSync(params1));
  });

  it('records schema version, options, input hash, every concept and the fallback', () => {
    const file = JSON.parse(readFileSync(params1, 'utf8'));
    expect(file.schema_version).toBe(2);
    expect(file.options).toMatchObject({ restarts: 5, pooled_restarts: 1, seed: 7, max_iterations: 100, fallback: 'pooled', fit_forget: false });
    expect(file.input.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(file.input.sha256).toBe(summary.input.sha256);
    expect(file.concepts.length).toBe(summary.concepts);
    for (const c of file.concepts) {
      expect(['fitted', 'fallback']).toContain(c.use);
      expect(Object.keys(c.params).sort()).toEqual(['forget', 'guess', 'learn', 'prior', 'slip']);
      expect(c.flags).toHaveProperty('degenerate');
      if (c.flags.degenerate || c.flags.few_data) expect(c.use).toBe('fallback');
    }
    expect(file.fallback.source).toBe(summary.fallback.source);
    if (name === 'statics2011.csv') expect(file.concepts.some((c: { use: string }) => c.use === 'fallback')).toBe(true);
  });

  it('gives back its log-likelihood through evaluate and through predict --params', () => {
    const ev = bktJson<{ overall: { log_lik: number; responses: number } }>(['evaluate', dataPath(name), '--params', params1]);
    expect(ev.overall.responses).toBe(summary.input.rows);
    expect(ev.overall.log_lik).toBeCloseTo(summary.log_lik, 6);

    const out = join(tmp.dir, `${name}.predictions.csv`);
    const r = bkt(['predict', dataPath(name), '--params', params1, '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    const { header, rows } = parseCsv(readFileSync(out, 'utf8'));
    const [iY, iP] = [header.indexOf('correct'), header.indexOf('p_correct')];
    let logLik = 0;
    for (const row of rows) logLik += Math.log(row[iY] === '1' ? Number(row[iP]) : 1 - Number(row[iP]));
    expect(rows.length).toBe(summary.input.rows);
    expect(logLik).toBeCloseTo(summary.log_lik, 6);
  });
});

it('predicts concepts absent from the params file with its fallback and says how many rows that touched', () => {
  const params = join(tmp.dir, 'subset.json');
  bktJson(['fit', dataPath('assist2009_pybkt_subset.csv'), '-o', params, '--threads', '1']);
  const file = JSON.parse(readFileSync(params, 'utf8'));
  const out = join(tmp.dir, 'ct-with-subset.csv');
  const summary = bktJson<{ absent_concepts: number; absent_rows: number; input: { rows: number; concepts: number } }>([
    'predict', dataPath('ct_pybkt.csv'), '--params', params, '-o', out,
  ]);
  // No concept of ct_pybkt is in the ASSISTments subset: every row uses the fallback.
  expect(summary.absent_concepts).toBe(summary.input.concepts);
  expect(summary.absent_rows).toBe(summary.input.rows);
  const { header, rows } = parseCsv(readFileSync(out, 'utf8'));
  const { prior, slip, guess } = file.fallback.params;
  const first = rows[0];
  expect(first[header.indexOf('p_correct')]).toBe((prior * (1 - slip) + (1 - prior) * guess).toFixed(10));
  expect(new Set(rows.map((r) => r[header.indexOf('params_source')]))).toEqual(new Set(['absent']));
  const text = bkt(['evaluate', dataPath('ct_pybkt.csv'), '--params', params]);
  expect(text.stdout).toMatch(new RegExp(`${summary.input.concepts} concepts absent from the params file used the fallback: 16,858 rows`));
});

it('fits forget when asked, and fixes parameters with --fix', () => {
  const params = join(tmp.dir, 'fixed.json');
  bktJson(['fit', dataPath('ct_pybkt.csv'), '-o', params, '--fix', 'prior=0.2', '--fit-forget', '--restarts', '2', '--threads', '1']);
  const file = JSON.parse(readFileSync(params, 'utf8'));
  expect(file.options.fixed).toEqual({ prior: 0.2 });
  expect(file.options.fit_forget).toBe(true);
  for (const c of file.concepts) expect(c.params.prior).toBe(0.2);
  expect(file.concepts.some((c: { params: { forget: number } }) => c.params.forget > 0)).toBe(true);
});

it('runs the raw mode (--fallback none, --bounds none): every concept keeps its own fit, flags still reported', () => {
  const params = join(tmp.dir, 'raw.json');
  bktJson(['fit', dataPath('statics2011.csv'), '-o', params, '--fallback', 'none', '--bounds', 'none', '--restarts', '2']);
  const file = JSON.parse(readFileSync(params, 'utf8'));
  expect(file.options.bounds).toEqual({ guess: null, slip: null });
  expect(file.options.fallback).toBe('none');
  expect(file.fallback.source).toBe('none');
  expect(file.concepts.every((c: { use: string }) => c.use === 'fitted')).toBe(true);
  expect(file.concepts.some((c: { flags: { few_data: boolean } }) => c.flags.few_data)).toBe(true);
});
