/**
 * `bkt fit --format csv` round trip: the table, parsed back with the project's own CSV tokenizer, must rebuild the
 * JSON params file's concepts (parameters, statistics, flags, use), every per-value entry of a version 2 file and
 * the fallback, with the same doubles; cells a row does not set must be empty. Checked on a hand-made version 2
 * structure and on a real fit of the same data written both ways.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CsvTokenizer, recordFields } from '../../src/cli/csv-records.js';
import { FLAG_COLUMNS, formatParamsCsv, PARAMS_CSV_COLUMNS } from '../../src/cli/params-csv.js';
import type { ParamsFile } from '../../src/cli/params-file.js';
import { bkt, tempDir } from '../support/bin.js';
import { dataPath } from '../support/data.js';

const tmp = tempDir();
afterAll(tmp.cleanup);

/** Parses CSV text with the CLI's tokenizer (quotes, "" escapes). */
function parse(text: string): { header: string[]; rows: string[][] } {
  const records: string[][] = [];
  const t = new CsvTokenizer('params.csv', (r) => records.push(recordFields(r)));
  t.push(Buffer.from(text));
  t.end();
  return { header: records[0], rows: records.slice(1) };
}

type Json = Record<string, unknown>;

/** Rebuilds concepts, per-value entries and the fallback from the table. */
function rebuild(text: string): { concepts: Json[]; fallback: Json } {
  const { header, rows } = parse(text);
  expect(header).toEqual([...PARAMS_CSV_COLUMNS]);
  const concepts: Json[] = [];
  let fallback: Json | null = null;
  const num = (s: string) => (s === '' ? undefined : Number(s));
  for (const fields of rows) {
    expect(fields.length).toBe(header.length);
    const r = Object.fromEntries(header.map((h, i) => [h, fields[i]]));
    const params = { prior: num(r.prior), learn: num(r.learn), guess: num(r.guess), slip: num(r.slip), forget: num(r.forget) };
    const stats = {
      concept_id: r.concept_id,
      use: r.use,
      params,
      responses: num(r.rows),
      students: num(r.students),
      log_lik: num(r.log_lik),
      iterations: num(r.iterations),
      converged: r.converged === 'true',
      opportunities_to_mastery: r.opportunities_to_mastery === '' ? null : Number(r.opportunities_to_mastery),
      flags: Object.fromEntries(FLAG_COLUMNS.map((f) => [f, r[f] === 'true'])),
    };
    if (r.variant === 'concept') {
      expect([r.column, r.value]).toEqual(['', '']);
      concepts.push(stats);
    } else if (r.variant === 'fallback') {
      expect(fallback).toBeNull();
      fallback = { source: r.use, params, pooled: stats };
    } else {
      const concept = concepts[concepts.length - 1];
      expect(r.concept_id).toBe(concept.concept_id); // value rows follow their concept
      expect(r.use).toBe(concept.use);
      const perValue = ((concept.per_value ??= {}) as Record<string, { column: string; values: Json[] }>);
      const entry = (perValue[r.variant] ??= { column: r.column, values: [] });
      expect(r.column).toBe(entry.column);
      const set = Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined));
      const value: Json = { value: r.value, ...set };
      if (r.variant === 'prior') {
        expect(r.students).toBe(r.rows);
        value.sequences = num(r.rows);
      } else {
        expect(r.students).toBe('');
        value.rows = num(r.rows);
      }
      // Concept statistics and flags are not repeated on value rows.
      for (const c of ['log_lik', 'iterations', 'converged', 'opportunities_to_mastery', ...FLAG_COLUMNS]) expect(r[c]).toBe('');
      entry.values.push(value);
    }
  }
  expect(fallback).not.toBeNull();
  return { concepts, fallback: fallback! };
}

const PICK = ['concept_id', 'use', 'params', 'responses', 'students', 'log_lik', 'iterations', 'converged', 'opportunities_to_mastery'];

/** What the table is meant to carry of a concept entry. */
function carried(c: Json): Json {
  const out: Json = Object.fromEntries(PICK.map((k) => [k, c[k]]));
  out.flags = Object.fromEntries(FLAG_COLUMNS.map((f) => [f, (c.flags as Json)[f]]));
  if (c.per_value !== undefined) out.per_value = c.per_value;
  return out;
}

function expectRoundTrip(file: ParamsFile, text: string): void {
  const back = rebuild(text);
  expect(back.concepts).toEqual(file.concepts.map((c) => carried(c as Json)));
  expect(back.fallback.source).toBe(file.fallback.source);
  expect(back.fallback.params).toEqual(file.fallback.params);
  // The fallback row: the pooled fit's statistics, the fallback's parameters, and its source in `use`.
  if (file.fallback.pooled) {
    expect(back.fallback.pooled).toEqual({
      ...carried(file.fallback.pooled as Json),
      concept_id: '',
      use: file.fallback.source,
      params: file.fallback.params,
    });
  }
}

const stats = (responses: number, students: number, extra: Json = {}) => ({
  log_lik: -responses * 0.5123456789012345,
  iterations: 17,
  converged: true,
  restarts: 5,
  best_restart: 2,
  responses,
  students,
  opportunities_to_mastery: 4.2,
  flags: { degenerate: false, mastery_unreachable: false, mastery_slow: true, at_bound: false, few_data: false },
  reasons: [],
  advisories: ['slow'],
  ...extra,
});

const V2: ParamsFile = {
  schema_version: 2,
  generator: 'hand-made',
  input: { file: 'items.csv', sha256: 'x' },
  options: { threshold: 0.95, multigs: 'item_id', multilearn: 'template_id', multiprior: 'class_id' },
  fallback: {
    source: 'pooled',
    params: { prior: 0.41, learn: 0.12, guess: 0.2, slip: 0.1, forget: 0 },
    pooled: { concept_id: '(pooled)', use: 'fitted', params: { prior: 0.41, learn: 0.12, guess: 0.2, slip: 0.1, forget: 0 }, ...stats(900, 80) },
  },
  totals: {},
  concepts: [
    {
      concept_id: 'Table, "two"',
      use: 'fitted',
      params: { prior: 0.1 + 0.2, learn: 1 / 3, guess: 1e-12, slip: 0.25, forget: 0.01 },
      ...stats(400, 40),
      per_value: {
        guess_slip: {
          column: 'item_id',
          values: [
            { value: '01', guess: 0.12, slip: 0.08, rows: 35 },
            { value: '1', guess: 0.3, slip: 2 / 7, rows: 12 },
            { value: 'a,"b"', guess: 0.2, slip: 0.1, rows: 3 },
          ],
        },
        learn: { column: 'template_id', values: [{ value: '30244', learn: 0.2, forget: 0, rows: 120 }] },
        prior: { column: 'class_id', values: [{ value: '', prior: 0.3, sequences: 40 }, { value: '12340', prior: 0.6, sequences: 2 }] },
      },
    },
    {
      concept_id: 'few',
      use: 'fallback',
      params: { prior: 0.5, learn: 0.5, guess: 0.5, slip: 0.5, forget: 0 },
      ...stats(10, 2, { opportunities_to_mastery: null, converged: false }),
      flags: { degenerate: true, mastery_unreachable: true, mastery_slow: false, at_bound: true, few_data: true },
    },
    {
      concept_id: 'prior only',
      use: 'fitted',
      params: { prior: 0.2, learn: 0.3, guess: 0.2, slip: 0.1, forget: 0 },
      ...stats(500, 50),
      per_value: { prior: { column: 'class_id', values: [{ value: 'c1', prior: 0.25, sequences: 50 }] } },
    },
  ],
};

describe('params as CSV', () => {
  it('round-trips a version 2 file with per-value parameters', () => {
    const text = formatParamsCsv(V2);
    expectRoundTrip(V2, text);
    // One row per concept, per value and for the fallback, in that order.
    expect(parse(text).rows.map((r) => `${r[0]}|${r[1]}`)).toEqual([
      'Table, "two"|concept', 'Table, "two"|guess_slip', 'Table, "two"|guess_slip', 'Table, "two"|guess_slip',
      'Table, "two"|learn', 'Table, "two"|prior', 'Table, "two"|prior',
      'few|concept', 'prior only|concept', 'prior only|prior', '|fallback',
    ]);
  });

  it('writes a fallback row without statistics when nothing was pooled', () => {
    const file: ParamsFile = { ...V2, fallback: { source: 'defaults', params: V2.fallback.params, pooled: null } };
    const { rows, header } = parse(formatParamsCsv(file));
    const last = Object.fromEntries(header.map((h, i) => [h, rows[rows.length - 1][i]]));
    expect(last).toMatchObject({ concept_id: '', variant: 'fallback', use: 'defaults', prior: '0.41', rows: '', log_lik: '', degenerate: '' });
  });

  it('bkt fit --format csv carries what the JSON file holds, double for double', () => {
    const json = join(tmp.dir, 'params.json');
    const csv = join(tmp.dir, 'params.csv');
    const data = dataPath('ct_pybkt.csv');
    const a = bkt(['fit', data, '-o', json, '--restarts', '2']);
    expect(a.status, a.stderr).toBe(0);
    const b = bkt(['fit', data, '-o', csv, '--restarts', '2', '--format', 'csv']);
    expect(b.status, b.stderr).toBe(0);
    const file = JSON.parse(readFileSync(json, 'utf8')) as ParamsFile;
    expect(file.concepts.length).toBeGreaterThan(5);
    expectRoundTrip(file, readFileSync(csv, 'utf8'));
  });

  it('bkt fit --format csv with every variant carries each per-value entry of the version 2 file', () => {
    const json = join(tmp.dir, 'items.json');
    const csv = join(tmp.dir, 'items.csv');
    const data = dataPath('assist2009_pybkt_subset_items.csv');
    const args = ['--multigs', 'item_id', '--multilearn', 'template_id', '--multiprior', 'class_id', '--restarts', '1'];
    const a = bkt(['fit', data, '-o', json, ...args]);
    expect(a.status, a.stderr).toBe(0);
    const b = bkt(['fit', data, '-o', csv, ...args, '--format', 'csv']);
    expect(b.status, b.stderr).toBe(0);
    const file = JSON.parse(readFileSync(json, 'utf8')) as ParamsFile;
    expect(file.schema_version).toBe(2);
    const perValue = file.concepts.flatMap((c) => Object.keys((c.per_value ?? {}) as object));
    expect(new Set(perValue)).toEqual(new Set(['guess_slip', 'learn', 'prior']));
    expectRoundTrip(file, readFileSync(csv, 'utf8'));
  });

  it('refuses another format with a usage error', () => {
    const r = bkt(['fit', dataPath('ct_pybkt.csv'), '-o', join(tmp.dir, 'x'), '--format', 'xlsx']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--format.*xlsx/);
  });
});
