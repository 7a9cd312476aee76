/**
 * `bkt predict` through the real bin on the real data: without --params it must reproduce pyBKT's golden files
 * row by row (all four probability columns within 1e-9), in input order; --final-states from a gzipped file
 * must give each pair's last p_mastery_after; --order-col must restore time order from a shuffled file.
 */
import { execFileSync, spawn } from 'node:child_process';
import { lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bkt, bktJson, parseCsv, tempDir } from '../support/bin.js';
import { dataPath, readCsv } from '../support/data.js';

const TOL = 1e-9;
const PROBABILITIES = ['p_correct', 'p_mastery_before', 'p_posterior', 'p_mastery_after'] as const;
const CASES = [
  { data: 'ct_pybkt.csv', golden: 'golden/ct_pybkt_fixed.csv' },
  { data: 'assist2009_pybkt_subset.csv', golden: 'golden/assist2009_pybkt_subset_fixed.csv' },
  { data: 'statics2011.csv', golden: 'golden/statics2011_fixed.csv.gz' },
  { data: 'assist2009.csv', golden: 'golden/assist2009_fixed.csv.gz' },
];

const tmp = tempDir();
afterAll(tmp.cleanup);

describe.each(CASES)('bkt predict $data', ({ data, golden }) => {
  it(`reproduces ${golden} on every row`, () => {
    const out = join(tmp.dir, `${data}.predictions.csv`);
    const summary = bktJson<{ input: { rows: number }; params: string; seconds: number; rows_per_second: number }>([
      'predict', dataPath(data), '-o', out,
    ]);
    expect(summary.params).toBe('defaults');
    // Rows per second is the rows over the seconds reported (both rounded).
    expect(Math.abs(summary.rows_per_second * summary.seconds - summary.input.rows)).toBeLessThan(summary.rows_per_second * 0.002 + 1);
    const got = parseCsv(readFileSync(out, 'utf8'));
    const want = readCsv(golden);
    expect(got.header).toEqual(['student_id', 'concept_id', 'correct', ...PROBABILITIES, 'mastered', 'opportunity', 'params_source']);
    expect(got.rows.length).toBe(want.rows.length);
    expect(summary.input.rows).toBe(want.rows.length);
    const g = (name: string) => got.header.indexOf(name);
    const w = (name: string) => want.header.indexOf(name);
    let worst = 0;
    let inputMismatch = 0;
    let masteredMismatch = 0;
    for (let i = 0; i < want.rows.length; i++) {
      const a = got.rows[i];
      const b = want.rows[i];
      for (const col of ['student_id', 'concept_id', 'correct']) if (a[g(col)] !== b[w(col)]) inputMismatch++;
      for (const col of PROBABILITIES) worst = Math.max(worst, Math.abs(Number(a[g(col)]) - Number(b[w(col)])));
      if (a[g('mastered')] !== (Number(b[w('p_mastery_after')]) >= 0.95 ? '1' : '0')) masteredMismatch++;
    }
    expect(inputMismatch).toBe(0);
    expect(worst).toBeLessThanOrEqual(TOL);
    expect(masteredMismatch).toBe(0);
  });
});

describe('bkt predict --final-states', () => {
  it('reads a gzipped file in place and gives each (student, concept) its last state', () => {
    const golden = 'golden/statics2011_fixed.csv.gz';
    const out = join(tmp.dir, 'final.csv');
    const r = bkt(['predict', dataPath(golden), '--final-states', '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    const want = readCsv(golden);
    const [iS, iC, iA] = ['student_id', 'concept_id', 'p_mastery_after'].map((c) => want.header.indexOf(c));
    const last = new Map<string, { after: number; n: number }>();
    for (const row of want.rows) {
      const key = `${row[iS]}\u0000${row[iC]}`;
      last.set(key, { after: Number(row[iA]), n: (last.get(key)?.n ?? 0) + 1 });
    }
    const got = parseCsv(readFileSync(out, 'utf8'));
    expect(got.header).toEqual(['student_id', 'concept_id', 'known', 'unknown', 'level', 'mastered', 'responses']);
    expect(got.rows.length).toBe(last.size);
    let worst = 0;
    for (const [student, concept, known, unknown, level, mastered, responses] of got.rows) {
      const w = last.get(`${student}\u0000${concept}`);
      expect(w, `${student}/${concept}`).toBeDefined();
      worst = Math.max(worst, Math.abs(Number(known) - w!.after), Math.abs(Number(unknown) - (1 - w!.after)));
      expect(level).toBe(known);
      expect(mastered).toBe(Number(known) >= 0.95 ? '1' : '0');
      expect(Number(responses)).toBe(w!.n);
    }
    expect(worst).toBeLessThanOrEqual(TOL);
  });
});

describe('bkt predict --order-col', () => {
  it('restores time order within students from a shuffled file with renamed columns', () => {
    const want = readCsv('golden/ct_pybkt_fixed.csv');
    const [iS, iC, iY, iP] = ['student_id', 'concept_id', 'correct', 'p_correct'].map((c) => want.header.indexOf(c));
    // A deterministic shuffle (LCG), with time = input row, and correct spelled true/false.
    const order = want.rows.map((_, i) => i);
    let x = 12345;
    for (let i = order.length - 1; i > 0; i--) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const j = x % (i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    const lines = ['when,learner,skill,answer'];
    for (const i of order) {
      const r = want.rows[i];
      lines.push(`${i},${r[iS]},${r[iC]},${r[iY] === '1' ? 'true' : 'false'}`);
    }
    const input = join(tmp.dir, 'shuffled.csv');
    writeFileSync(input, `${lines.join('\n')}\n`);
    const out = join(tmp.dir, 'shuffled.predictions.csv');
    const args = ['predict', input, '-o', out, '--student-col', 'learner', '--concept-col', 'skill', '--correct-col', 'answer'];
    const refused = bkt(args);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/shuffled\.csv:\d+: rows of student ".*" are not contiguous/);
    const r = bkt([...args, '--order-col', 'when']);
    expect(r.status, r.stderr).toBe(0);
    const got = parseCsv(readFileSync(out, 'utf8'));
    expect(got.header.slice(0, 4)).toEqual(['when', 'learner', 'skill', 'answer']);
    let worst = 0;
    got.rows.forEach((row, k) => {
      expect(Number(row[0])).toBe(order[k]); // output stays in input order
      worst = Math.max(worst, Math.abs(Number(row[got.header.indexOf('p_correct')]) - Number(want.rows[order[k]][iP])));
    });
    expect(worst).toBeLessThanOrEqual(TOL);
  });
});

describe('bkt predict on quoted CSV', () => {
  it('keeps extra columns (re-quoted where needed), skips blank lines, and counts quoted line breaks in line numbers', () => {
    const input = join(tmp.dir, 'quoted.csv');
    writeFileSync(
      input,
      '\ufeffstudent_id,concept_id,correct,note\r\n"u,1",a,1,"said ""hi""\r\nthen left"\r\n\r\n"u,1",a,0,plain\r\n',
    );
    const out = join(tmp.dir, 'quoted.predictions.csv');
    const r = bkt(['predict', input, '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text.startsWith('student_id,concept_id,correct,note,p_correct,')).toBe(true);
    expect(text).toContain('"u,1",a,1,"said ""hi""\r\nthen left",0.3150000000,0.1000000000,');
    expect(text).toContain('"u,1",a,0,plain,');

    writeFileSync(input, 'student_id,concept_id,correct,note\n"u1",a,1,"two\nlines"\n\nu1,a,maybe,x\n');
    const bad = bkt(['predict', input, '-o', out]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/quoted\.csv:5: correct must be 0, 1, true or false, found "maybe"/);
  });
});

it('shows no progress bar when stderr is not a terminal, and prints a one-line summary', () => {
  const out = join(tmp.dir, 'quiet.csv');
  const r = bkt(['predict', dataPath('ct_pybkt.csv'), '-o', out]);
  expect(r.status).toBe(0);
  expect(r.stderr).toBe('');
  const head = `predicted 16,858 rows (587 students, 12 concepts) with defaults to ${out} in `;
  expect(r.stdout.startsWith(head)).toBe(true);
  expect(r.stdout.slice(head.length)).toMatch(/^[\d.]+ s \([\d,]+ rows\/s; writing [\d,]+ rows\/s\)\n$/);
});

describe('bkt predict -o a special file', () => {
  it('writes into a named pipe and leaves it a pipe (never renames over it)', async () => {
    const fifo = join(tmp.dir, 'out.fifo');
    const copy = join(tmp.dir, 'from-fifo.csv');
    execFileSync('mkfifo', [fifo]);
    // A reader copies what comes through the pipe to a plain file (bkt's open of the pipe waits for it).
    const reader = spawn('sh', ['-c', 'cat "$0" > "$1"', fifo, copy], { stdio: 'ignore' });
    const closed = new Promise((r) => reader.on('close', r));
    const r = bkt(['predict', dataPath('ct_pybkt.csv'), '-o', fifo]);
    const stillFifo = lstatSync(fifo).isFIFO();
    if (!stillFifo) reader.kill(); // nothing will ever open the pipe it waits on
    await closed;
    expect(stillFifo).toBe(true);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const got = parseCsv(readFileSync(copy, 'utf8'));
    expect(got.header).toEqual(['student_id', 'concept_id', 'correct', ...PROBABILITIES, 'mastered', 'opportunity', 'params_source']);
    expect(got.rows.length).toBe(readCsv('ct_pybkt.csv').rows.length);
  });
});
