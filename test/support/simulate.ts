/** Draws synthetic response logs from known BKT parameters (for recovery tests). */
import { type BktParams, type ResponseData } from '../../src/bkt/index.js';
import { makeRandom } from '../../src/bkt/restarts.js';

export function simulate(
  concepts: readonly BktParams[],
  students: number,
  length: number,
  seed: number,
): ResponseData {
  const nSeq = concepts.length * students;
  const responses = new Uint8Array(nSeq * length);
  const offsets = new Uint32Array(nSeq + 1);
  const seqStudent = new Uint32Array(nSeq);
  const conceptSeqs = new Uint32Array(concepts.length + 1);
  let t = 0;
  concepts.forEach((p, c) => {
    const rand = makeRandom(seed, `sim-${c}`, 0);
    for (let s = 0; s < students; s++) {
      let known = rand() < p.prior;
      for (let i = 0; i < length; i++) {
        const correct = known ? rand() >= p.slip : rand() < p.guess;
        responses[t++] = correct ? 1 : 0;
        known = known ? rand() >= p.forget : rand() < p.learn;
      }
      const seq = c * students + s;
      offsets[seq + 1] = t;
      seqStudent[seq] = s;
    }
    conceptSeqs[c + 1] = (c + 1) * students;
  });
  return {
    responses, offsets, seqStudent, conceptSeqs,
    conceptIds: concepts.map((_, c) => `c${c}`),
    studentIds: Array.from({ length: students }, (_, s) => `s${s}`),
    rowOf: Uint32Array.from({ length: t }, (_, i) => i),
  };
}
