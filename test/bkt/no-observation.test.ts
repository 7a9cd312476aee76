/**
 * Steps with no observed answer (NO_OBSERVATION, read from -1 or an empty field): the transition applies, the
 * emission does not, EM counts them only as time, and metrics skip them.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type BktParams, buildResponseData, crossValidate, initialState, logLikelihood, makeFitOptions, NO_OBSERVATION,
  scorePredictions, traceMastery, updateMastery,
} from '../../src/bkt/index.js';
import { internRows } from '../../src/bkt/build.js';
import { eStep, emptyCounts, runEm } from '../../src/bkt/em.js';
import { readResponseLog } from '../../src/cli/csv-input.js';
import { tempDir } from '../support/bin.js';

const P: BktParams = { prior: 0.3, learn: 0.2, guess: 0.25, slip: 0.15, forget: 0.05 };

/** Likelihood of a sequence by summing over every hidden path (2^T of them): the definition, no recursion. */
function bruteForceLikelihood(p: BktParams, seq: readonly number[]): number {
  let total = 0;
  for (let path = 0; path < 1 << seq.length; path++) {
    let prob = 1;
    for (let t = 0; t < seq.length; t++) {
      const known = ((path >> t) & 1) === 1;
      if (t === 0) prob *= known ? p.prior : 1 - p.prior;
      else {
        const was = ((path >> (t - 1)) & 1) === 1;
        prob *= was ? (known ? 1 - p.forget : p.forget) : known ? p.learn : 1 - p.learn;
      }
      const o = seq[t];
      if (o !== NO_OBSERVATION) prob *= known ? (o === 1 ? 1 - p.slip : p.slip) : o === 1 ? p.guess : 1 - p.guess;
    }
    total += prob;
  }
  return total;
}

describe('NO_OBSERVATION', () => {
  it('updateMastery(null) applies the transition alone', () => {
    const s = { known: 0.4, unknown: 0.6 };
    const u = updateMastery(s, null, P);
    expect(u.posterior).toBe(0.4);
    expect(u.masteryAfter).toBeCloseTo(0.4 * (1 - P.forget) + 0.6 * P.learn, 15);
    expect(u.pCorrect).toBeCloseTo(0.4 * (1 - P.slip) + 0.6 * P.guess, 15);
  });

  it('a trace equals repeated single updates, missing steps included', () => {
    const seq = [1, NO_OBSERVATION, 0, NO_OBSERVATION, NO_OBSERVATION, 1, 1];
    const responses = Uint8Array.from(seq);
    const offsets = Uint32Array.from([0, seq.length]);
    const pCorrect = new Float64Array(seq.length);
    const masteryAfter = new Float64Array(seq.length);
    traceMastery(P, { responses, offsets }, { pCorrect, masteryAfter });
    let state = initialState(P);
    seq.forEach((o, t) => {
      const u = updateMastery(state, o === NO_OBSERVATION ? null : o === 1, P);
      expect(pCorrect[t]).toBe(u.pCorrect);
      expect(masteryAfter[t]).toBe(u.masteryAfter);
      state = u.state;
    });
  });

  it("the E-step's log-likelihood equals the sum over hidden paths", () => {
    const seqs = [[1, NO_OBSERVATION, 0, 1], [NO_OBSERVATION, NO_OBSERVATION], [0, 0, NO_OBSERVATION, 1, 1, 0]];
    const responses = Uint8Array.from(seqs.flat());
    const offsets = new Uint32Array(seqs.length + 1);
    seqs.forEach((s, i) => (offsets[i + 1] = offsets[i] + s.length));
    const expected = seqs.reduce((sum, s) => sum + Math.log(bruteForceLikelihood(P, s)), 0);
    expect(eStep({ responses, offsets }, P, emptyCounts(), new Float64Array(20))).toBeCloseTo(expected, 12);
  });

  it('EM counts no emission at a missing step, and its log-likelihood never falls', () => {
    // Every third answer hidden: guess and slip denominators hold the observed rows only.
    const n = 600;
    const responses = Uint8Array.from({ length: n }, (_, i) => (i % 3 === 2 ? NO_OBSERVATION : (i * 7) % 5 < 3 ? 1 : 0));
    const offsets = Uint32Array.from({ length: 61 }, (_, s) => s * 10);
    const counts = emptyCounts();
    eStep({ responses, offsets }, P, counts, new Float64Array(20));
    expect(counts.guessDen + counts.slipDen).toBeCloseTo(400, 9);
    const o = makeFitOptions({ fitForget: true, tol: 0, maxIterations: 40 });
    const em = runEm({ responses, offsets }, P, o, { history: true });
    const h = em.history!;
    for (let i = 1; i < h.length; i++) expect(h[i]).toBeGreaterThanOrEqual(h[i - 1] - 1e-9 * Math.abs(h[i - 1]));
    // Hiding every answer leaves a likelihood of 1 (up to rounding).
    expect(logLikelihood({ responses: new Uint8Array(10).fill(NO_OBSERVATION), offsets: Uint32Array.from([0, 10]) }, P)).toBeCloseTo(0, 12);
  });

  it('metrics skip missing rows', () => {
    const responses = Uint8Array.from([1, NO_OBSERVATION, 0, 1]);
    const pCorrect = Float64Array.from([0.8, 0.01, 0.3, 0.6]);
    const m = scorePredictions(responses, pCorrect);
    const full = scorePredictions(Uint8Array.from([1, 0, 1]), Float64Array.from([0.8, 0.3, 0.6]));
    expect(m).toEqual(full);
    expect(m.responses).toBe(3);
  });

  it('internRows and buildResponseData keep the marker; cv scores observed rows only', async () => {
    const students: string[] = [];
    const concepts: string[] = [];
    const correct: (number | null)[] = [];
    for (let s = 0; s < 40; s++) {
      for (let t = 0; t < 8; t++) {
        students.push(`s${s}`);
        concepts.push('a');
        correct.push(t === 3 ? null : t === 5 ? -1 : (s + t) % 3 === 0 ? 0 : 1);
      }
    }
    const { data } = buildResponseData(internRows(students, concepts, correct));
    expect(data.responses.filter((v) => v === NO_OBSERVATION).length).toBe(80);
    const cv = await crossValidate(data, { folds: 4, restarts: 1 });
    expect(cv.pooled.responses).toBe(240);
  });
});

describe('CSV reader', () => {
  const tmp = tempDir();
  afterAll(tmp.cleanup);

  it('reads -1 and empty answers as NO_OBSERVATION, and extra columns interned in input order', async () => {
    const file = join(tmp.dir, 'log.csv');
    writeFileSync(file, 'student_id,concept_id,correct,item\nu1,a,1,i2\nu1,a,-1,i1\nu1,a,,i2\nu2,a,0,i3\n');
    const log = await readResponseLog(file, { student: 'student_id', concept: 'concept_id', correct: 'correct', order: null, extra: ['item'] });
    expect([...log.rows.correct]).toEqual([1, NO_OBSERVATION, NO_OBSERVATION, 0]);
    const item = log.extra.get('item')!;
    expect(item.ids).toEqual(['i2', 'i1', 'i3']);
    expect([...item.codes]).toEqual([0, 1, 0, 2]);
  });

  it('names a missing extra column and the options that name such columns', async () => {
    const file = join(tmp.dir, 'no-item.csv');
    writeFileSync(file, 'student_id,concept_id,correct\nu1,a,1\n');
    await expect(
      readResponseLog(file, { student: 'student_id', concept: 'concept_id', correct: 'correct', order: null, extra: ['item'] }),
    ).rejects.toThrow(/missing column "item".*--multigs/);
  });
});
