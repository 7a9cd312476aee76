/**
 * --multigs, --multilearn and --multiprior through the real bin: fit writes params v2, evaluate and predict apply the
 * per-value parameters (evaluate's log-likelihood equals the fit's), unseen values are counted and marked, cv fits
 * the variants per fold, and bad input is refused with the field or line at fault.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRandom } from '../../src/bkt/restarts.js';
import { bkt, bktJson, parseCsv, tempDir } from '../support/bin.js';

const tmp = tempDir();
afterAll(tmp.cleanup);
const at = (name: string) => join(tmp.dir, name);
const VARIANTS = ['--multigs', 'item_id', '--multilearn', 'template_id', '--multiprior', 'class_id'];

/** Two concepts, 240 students of 3 classes, 12 rows each from 6 items of 3 templates, drawn from per-value parameters. */
function writeLog(file: string, students: number, extraItem = false): void {
  const rand = makeRandom(7, 'cli-variants', 0);
  const lines = ['student_id,concept_id,item_id,template_id,class_id,correct'];
  for (let s = 0; s < students; s++) {
    for (const concept of ['a', 'b']) {
      const klass = s % 3;
      let known = rand() < [0.2, 0.5, 0.8][klass];
      for (let t = 0; t < 12; t++) {
        const item = Math.floor(rand() * 6);
        const guess = [0.1, 0.3, 0.2, 0.15, 0.25, 0.05][item];
        const correct = known ? rand() >= 0.1 : rand() < guess;
        known = known || rand() < [0.1, 0.3, 0.2][item % 3];
        lines.push(`u${s},${concept},i${item},t${item % 3},k${klass},${correct ? 1 : 0}`);
      }
    }
  }
  if (extraItem) lines.push('new,a,i99,t0,k9,1', 'new,a,i1,t7,k9,0');
  writeFileSync(file, `${lines.join('\n')}\n`);
}

beforeAll(() => {
  writeLog(at('log.csv'), 240);
  writeLog(at('unseen.csv'), 240, true);
});

interface FitSummary { log_lik: number; variants: Record<string, string | null> }

describe('bkt fit with variants', () => {
  it('writes params v2 with sorted per-value parameters, and evaluate reproduces its log-likelihood', () => {
    const fit = bktJson<FitSummary>(['fit', at('log.csv'), '-o', at('v.json'), ...VARIANTS, '--fit-forget', '--fallback', 'none', '--restarts', '2', '--threads', '2']);
    expect(fit.variants).toEqual({ multigs: 'item_id', multilearn: 'template_id', multiprior: 'class_id' });
    const file = JSON.parse(readFileSync(at('v.json'), 'utf8'));
    expect(file.schema_version).toBe(2);
    expect(file.options.multigs).toBe('item_id');
    const pv = file.concepts[0].per_value;
    expect(pv.guess_slip.values.map((v: { value: string }) => v.value)).toEqual(['i0', 'i1', 'i2', 'i3', 'i4', 'i5']);
    expect(pv.learn.values.map((v: { value: string }) => v.value)).toEqual(['t0', 't1', 't2']);
    expect(pv.prior.values.map((v: { sequences: number }) => v.sequences)).toEqual([80, 80, 80]);
    expect(pv.guess_slip.values.reduce((a: number, v: { rows: number }) => a + v.rows, 0)).toBe(240 * 12);
    const ev = bktJson<{ overall: { log_lik: number }; unseen_values: Record<string, number> }>(['evaluate', at('log.csv'), '--params', at('v.json')]);
    expect(ev.overall.log_lik).toBeCloseTo(fit.log_lik, 6);
    expect(ev.unseen_values).toEqual({ guess_slip_rows: 0, learn_rows: 0, prior_sequences: 0 });
    // The standard model on the same data fits worse: the per-value parameters are in use.
    const standard = bktJson<FitSummary>(['fit', at('log.csv'), '-o', at('s.json'), '--fit-forget', '--fallback', 'none', '--restarts', '2', '--threads', '1']);
    expect(fit.log_lik).toBeGreaterThan(standard.log_lik + 10);
  });

  it('predict marks and counts rows whose value was not seen in training', () => {
    const out = bktJson<{ unseen_values: Record<string, number> }>(['predict', at('unseen.csv'), '--params', at('v.json'), '-o', at('p.csv')]);
    expect(out.unseen_values).toEqual({ guess_slip_rows: 1, learn_rows: 1, prior_sequences: 1 });
    const { header, rows } = parseCsv(readFileSync(at('p.csv'), 'utf8'));
    const source = header.indexOf('params_source');
    const unseen = rows.filter((r) => r[source] === 'unseen').map((r) => r.slice(0, 5).join(','));
    expect(unseen).toEqual(['new,a,i99,t0,k9', 'new,a,i1,t7,k9']);
  });

  it('cv fits the variants per fold and counts held-out values not seen in training', () => {
    const cv = bktJson<{ variants: Record<string, string | null>; unseen_values: Record<string, number>; pooled: { auc: number } }>(
      ['cv', at('unseen.csv'), '--multigs', 'item_id', '--folds', '3', '--restarts', '1', '--threads', '1'],
    );
    expect(cv.variants.multigs).toBe('item_id');
    expect(cv.unseen_values.guess_slip_rows).toBe(1);
    expect(cv.pooled.auc).toBeGreaterThan(0.6);
  });

  it('names an unknown column and lists the header', () => {
    const r = bkt(['fit', at('log.csv'), '-o', at('x.json'), '--multilearn', 'lesson']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('missing column "lesson" (the header has: student_id, concept_id, item_id, template_id, class_id, correct)');
    expect(r.stderr).toContain('--multilearn');
  });

  it('refuses an empty value when fitting, naming the line', () => {
    writeFileSync(at('empty.csv'), 'student_id,concept_id,item_id,correct\nu1,a,i1,1\nu1,a,,0\n');
    const r = bkt(['fit', at('empty.csv'), '-o', at('x.json'), '--multigs', 'item_id']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('empty.csv:3: empty item_id');
  });

  it('refuses a variant option the params file was not fitted with', () => {
    const r = bkt(['evaluate', at('log.csv'), '--params', at('s.json'), '--multigs', 'item_id']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('was not fitted with --multigs');
  });

  it('reads version 1 files, and names the field and line of a bad per-value entry', () => {
    const v2 = JSON.parse(readFileSync(at('s.json'), 'utf8'));
    writeFileSync(at('v1.json'), JSON.stringify({ ...v2, schema_version: 1 }, null, 2));
    expect(bkt(['evaluate', at('log.csv'), '--params', at('v1.json')]).status).toBe(0);
    const good = readFileSync(at('v.json'), 'utf8');
    const from = good.indexOf('"guess_slip"');
    const text = good.slice(0, from) + good.slice(from).replace(/"slip": [\d.e-]+/, '"slip": 1.5');
    writeFileSync(at('bad.json'), text);
    const r = bkt(['evaluate', at('log.csv'), '--params', at('bad.json')]);
    expect(r.status).not.toBe(0);
    const line = text.split('\n').findIndex((l) => l.includes('"slip": 1.5')) + 1;
    expect(r.stderr).toContain(`bad.json:${line}: concepts[0].per_value.guess_slip.values[0].slip: must be a number strictly between 0 and 1, got 1.5`);
  });
});
