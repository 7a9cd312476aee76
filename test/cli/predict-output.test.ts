/**
 * `bkt predict`'s rows, byte for byte: on a log with students and concepts interleaved, each row must carry the
 * core's own trace (traceMastery per (student, concept) sequence under the parameters the params file gives the
 * concept) written as toFixed(10), its 1-based opportunity within the student and concept, and where its
 * parameters came from. With --order-col, opportunities follow time, not input order. Stdout gives the same bytes,
 * and the writer reads no more input while its output is not ready (backpressure).
 */
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type BktParams, DEFAULT_PARAMS, traceMastery } from '../../src/bkt/index.js';
import { traceDataset } from '../../src/cli/apply-params.js';
import { DEFAULT_COLUMNS } from '../../src/cli/csv-input.js';
import { loadResponseData } from '../../src/cli/load.js';
import { DEFAULTS_SOURCE } from '../../src/cli/params-file.js';
import { conceptSources, writePredictionRows } from '../../src/cli/predict-output.js';
import type { Progress } from '../../src/cli/progress.js';
import { bkt, tempDir } from '../support/bin.js';
import { dataPath } from '../support/data.js';

const SILENT_PROGRESS: Progress = { phase() {}, update() {}, stop() {} };

const tmp = tempDir();
afterAll(tmp.cleanup);

const SEED = Number(process.env.TEST_SEED ?? 20261207);
const FITTED: BktParams = { prior: 0.3, learn: 0.2, guess: 0.15, slip: 0.1, forget: 0.05 };
const QUOTED: BktParams = { prior: 0.6, learn: 0.05, guess: 0.3, slip: 0.2, forget: 0 };
const FALLBACK: BktParams = { prior: 0.2, learn: 0.1, guess: 0.25, slip: 0.12, forget: 0 };
const MARKED: BktParams = { prior: 0.9, learn: 0.9, guess: 0.4, slip: 0.4, forget: 0 }; // use: fallback, never used
/** Concept -> [params used, params_source]; "absent" is not in the params file. */
const CONCEPTS: Record<string, [BktParams, string]> = {
  alg: [FITTED, 'fitted'],
  'frac,"x"': [QUOTED, 'fitted'],
  geo: [FALLBACK, 'fallback'],
  absent: [FALLBACK, 'absent'],
};
const THRESHOLD = 0.9;

const paramsFile = join(tmp.dir, 'params.json');
writeFileSync(
  paramsFile,
  JSON.stringify({
    schema_version: 1,
    generator: 'hand-made for this test',
    input: { file: 'x.csv', sha256: '0' },
    options: { threshold: THRESHOLD },
    fallback: { source: 'pooled', params: FALLBACK },
    totals: {},
    concepts: [
      { concept_id: 'alg', use: 'fitted', params: FITTED },
      { concept_id: 'frac,"x"', use: 'fitted', params: QUOTED },
      { concept_id: 'geo', use: 'fallback', params: MARKED },
    ],
  }),
);

interface Row {
  time: number;
  student: string;
  concept: string;
  correct: number;
}

/** A seeded log: each student answers a random mix of concepts, so concepts interleave within a student. */
function makeLog(seed: number): Row[] {
  let x = seed >>> 0;
  const next = (n: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
  const names = Object.keys(CONCEPTS);
  const rows: Row[] = [];
  for (let s = 0; s < 40; s++) {
    const len = 1 + next(30);
    for (let k = 0; k < len; k++) rows.push({ time: rows.length, student: `s${s}`, concept: names[next(names.length)], correct: next(3) === 0 ? 0 : 1 });
  }
  return rows;
}

const csvField = (v: string) => (/[",\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

/** The expected appended fields per row, from the core's traceMastery over each (student, concept) sequence. */
function expectedFields(rows: readonly Row[]): string[] {
  const order = rows.map((_, i) => i).sort((a, b) => rows[a].time - rows[b].time);
  const seqs = new Map<string, number[]>(); // pair -> input rows in time order
  for (const i of order) {
    const key = `${rows[i].student}\u0000${rows[i].concept}`;
    if (!seqs.has(key)) seqs.set(key, []);
    seqs.get(key)!.push(i);
  }
  const out = new Array<string>(rows.length);
  for (const members of seqs.values()) {
    const [params, source] = CONCEPTS[rows[members[0]].concept];
    const n = members.length;
    const cols = {
      pCorrect: new Float64Array(n),
      masteryBefore: new Float64Array(n),
      posterior: new Float64Array(n),
      masteryAfter: new Float64Array(n),
      mastered: new Uint8Array(n),
    };
    traceMastery(params, { responses: Uint8Array.from(members, (i) => rows[i].correct), offsets: Uint32Array.of(0, n) }, cols, THRESHOLD);
    members.forEach((i, k) => {
      const p = [cols.pCorrect[k], cols.masteryBefore[k], cols.posterior[k], cols.masteryAfter[k]].map((v) => v.toFixed(10));
      out[i] = [...p, cols.mastered[k], k + 1, source].join(',');
    });
  }
  return out;
}

function check(text: string, header: string, lines: readonly string[], rows: readonly Row[]): void {
  const want = expectedFields(rows);
  const expectedText = [
    `${header},p_correct,p_mastery_before,p_posterior,p_mastery_after,mastered,opportunity,params_source`,
    ...lines.map((line, i) => `${line},${want[i]}`),
  ].join('\n');
  expect(text).toBe(`${expectedText}\n`);
}

describe('bkt predict rows', () => {
  it('carry the core trace, the opportunity and the params source on interleaved concepts', () => {
    const rows = makeLog(SEED);
    const lines = rows.map((r) => [r.student, csvField(r.concept), r.correct].join(','));
    const input = join(tmp.dir, 'interleaved.csv');
    writeFileSync(input, `student_id,concept_id,correct\n${lines.join('\n')}\n`);
    const out = join(tmp.dir, 'interleaved.predictions.csv');
    const r = bkt(['predict', input, '--params', paramsFile, '-o', out]);
    expect(r.status, `seed ${SEED}: ${r.stderr}`).toBe(0);
    check(readFileSync(out, 'utf8'), 'student_id,concept_id,correct', lines, rows);
    // Some pair must reach a high opportunity, or numbering would not be tested.
    expect(Math.max(...expectedFields(rows).map((f) => Number(f.split(',')[5])))).toBeGreaterThan(5);

    const piped = bkt(['predict', input, '--params', paramsFile, '-o', '-']);
    expect(piped.status).toBe(0);
    expect(piped.stdout).toBe(readFileSync(out, 'utf8'));
  });

  it('number opportunities in time order with --order-col, rows staying in input order', () => {
    const rows = makeLog(SEED + 1);
    // Shuffle the file; the time column keeps the order within each student.
    let x = SEED;
    const shuffled = [...rows];
    for (let i = shuffled.length - 1; i > 0; i--) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const j = x % (i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    const lines = shuffled.map((r) => [r.time, r.student, csvField(r.concept), r.correct].join(','));
    const input = join(tmp.dir, 'shuffled.csv');
    writeFileSync(input, `when,student_id,concept_id,correct\n${lines.join('\n')}\n`);
    const out = join(tmp.dir, 'shuffled.predictions.csv');
    const r = bkt(['predict', input, '--params', paramsFile, '--order-col', 'when', '-o', out]);
    expect(r.status, `seed ${SEED}: ${r.stderr}`).toBe(0);
    check(readFileSync(out, 'utf8'), 'when,student_id,concept_id,correct', lines, shuffled);
  });

  it('say "defaults" without a params file', () => {
    const input = join(tmp.dir, 'tiny.csv');
    writeFileSync(input, 'student_id,concept_id,correct\nu,a,1\nu,b,0\nu,a,0\n');
    const out = join(tmp.dir, 'tiny.predictions.csv');
    expect(bkt(['predict', input, '-o', out]).status).toBe(0);
    const got = readFileSync(out, 'utf8').trim().split('\n').slice(1).map((l) => l.split(',').slice(-2).join(','));
    expect(got).toEqual(['1,defaults', '1,defaults', '2,defaults']);
    const p = readFileSync(out, 'utf8').split('\n')[1].split(',')[3];
    expect(p).toBe((DEFAULT_PARAMS.prior * (1 - DEFAULT_PARAMS.slip) + (1 - DEFAULT_PARAMS.prior) * DEFAULT_PARAMS.guess).toFixed(10));
  });
});


describe('writePredictionRows', () => {
  it('reads no further input while the output is not ready, and writes what the CLI writes', async () => {
    const file = dataPath('ct_pybkt.csv'); // several reads of the tokenizer's buffer
    const { data } = await loadResponseData(file, DEFAULT_COLUMNS, SILENT_PROGRESS);
    const n = data.responses.length;
    const trace = {
      pCorrect: new Float64Array(n), masteryBefore: new Float64Array(n), posterior: new Float64Array(n),
      masteryAfter: new Float64Array(n), mastered: new Uint8Array(n),
    };
    traceDataset(data, DEFAULTS_SOURCE, DEFAULTS_SOURCE.threshold, trace);
    const chunks: Buffer[] = [];
    const reads: number[] = [];
    const waiting: (() => void)[] = [];
    let announce: () => void = () => {};
    const output = {
      writeBytes: (chunk: Buffer) => (chunks.push(chunk), true),
      ready: () => new Promise<void>((resolve) => {
        waiting.push(resolve);
        announce();
      }),
    };
    const done = writePredictionRows(output, file, data, { trace, sources: conceptSources(data, DEFAULTS_SOURCE) }, (b) => reads.push(b));
    let finished = false;
    void done.then(() => (finished = true));
    let held = 0;
    while (!finished) {
      // Wait until the writer asks whether it may go on (or ends).
      await Promise.race([new Promise<void>((r) => (announce = r)), done]);
      if (finished || waiting.length === 0) break;
      const readsSoFar = reads.length;
      // Give the event loop full turns: a writer that ignored ready() would read on meanwhile.
      for (let k = 0; k < 5; k++) await new Promise((r) => setImmediate(r));
      expect(reads.length).toBe(readsSoFar);
      held++;
      waiting.shift()!();
    }
    await done;
    expect(held).toBeGreaterThan(2);
    const out = join(tmp.dir, 'ct.predictions.csv');
    expect(bkt(['predict', file, '-o', out]).status).toBe(0);
    expect(Buffer.concat(chunks).equals(readFileSync(out))).toBe(true);
  });
});
