/** `bkt cv --fold-col` and `--predictions` through the real bin: folds from the data, held-out rows written out. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auc } from '../../src/bkt/index.js';
import { bkt, bktJson, parseCsv, tempDir } from '../support/bin.js';
import { readCsv } from '../support/data.js';

const tmp = tempDir();
afterAll(tmp.cleanup);
const at = (name: string) => join(tmp.dir, name);

beforeAll(() => {
  // The shared subset with a fold per student (student id mod 3), and one answer in 20 hidden.
  const { header, rows } = readCsv('assist2009_pybkt_subset.csv');
  const iS = header.indexOf('student_id');
  const iY = header.indexOf('correct');
  const lines = rows.map((r, k) => [...r.map((v, j) => (j === iY && k % 20 === 7 ? '-1' : v)), String(Number(r[iS]) % 3)].join(','));
  writeFileSync(at('folds.csv'), `${[...header, 'split'].join(',')}\n${lines.join('\n')}\n`);
  writeFileSync(at('mixed.csv'), 'student_id,concept_id,correct,split\nu1,a,1,0\nu1,a,0,1\nu2,a,1,1\n');
});

describe('bkt cv --fold-col --predictions', () => {
  it('takes folds from the column, writes every held-out row, and its metrics agree with the file', () => {
    const out = bktJson<{
      folds: number; pooled: { auc: number; responses: number };
      across_folds: Record<string, { mean: number; sd: number }>;
      per_fold: { label: string; test_students: number; responses: number; params: { concepts: { concept_id: string }[] } }[];
    }>(['cv', at('folds.csv'), '--fold-col', 'split', '--predictions', at('pred.csv'), '--restarts', '1', '--threads', '1']);
    expect(out.folds).toBe(3);
    expect(out.per_fold.map((f) => f.label)).toEqual(['0', '1', '2']);
    expect(out.per_fold.every((f) => f.params.concepts.length > 0)).toBe(true);
    for (const k of ['auc', 'rmse', 'accuracy', 'log_lik']) {
      expect(Number.isFinite(out.across_folds[k].mean)).toBe(true);
      expect(out.across_folds[k].sd).toBeGreaterThan(0);
    }
    const { header, rows } = parseCsv(readFileSync(at('pred.csv'), 'utf8'));
    expect(header).toEqual(['row', 'fold', 'prediction', 'observed']);
    const input = parseCsv(readFileSync(at('folds.csv'), 'utf8'));
    expect(rows.length).toBe(input.rows.length);
    rows.forEach((r, i) => {
      expect(r[0]).toBe(String(i + 1));
      expect(r[1]).toBe(input.rows[i][input.header.length - 1]);
      const y = input.rows[i][input.header.indexOf('correct')];
      expect(r[3]).toBe(y === '-1' ? '' : y);
    });
    const seen = rows.filter((r) => r[3] !== '');
    expect(seen.length).toBe(out.pooled.responses);
    const a = auc(Uint8Array.from(seen, (r) => Number(r[3])), Float64Array.from(seen, (r) => Number(r[2])));
    expect(a).toBeCloseTo(out.pooled.auc, 12);
    for (const f of out.per_fold) expect(f.responses).toBe(seen.filter((r) => r[1] === f.label).length);
  });

  it('refuses a student whose rows name two folds, with the line', () => {
    const r = bkt(['cv', at('mixed.csv'), '--fold-col', 'split']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/mixed\.csv:3: student "u1" has split "1" here but "0" at line 2/);
  });

  it('names a missing fold column', () => {
    const r = bkt(['cv', at('mixed.csv'), '--fold-col', 'nope']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/missing column "nope"/);
  });
});
