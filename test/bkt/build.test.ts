/** Grouping a response log into ResponseData: order, contiguity, order keys, and the golden files through it. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TEST_SEED } from '../support/seed.js';
import { buildResponseData, internRows } from '../../src/bkt/build.js';
import { DEFAULT_PARAMS, traceMastery, type ResponseData } from '../../src/bkt/index.js';
import { GOLDEN_FILES, readCsv } from '../support/data.js';

/** Each sequence as "concept/student: responses (input rows)". */
function describeData(d: ResponseData): string[] {
  const out: string[] = [];
  for (let c = 0; c < d.conceptIds.length; c++) {
    for (let s = d.conceptSeqs[c]; s < d.conceptSeqs[c + 1]; s++) {
      const rows = [...d.rowOf.subarray(d.offsets[s], d.offsets[s + 1])];
      const resp = [...d.responses.subarray(d.offsets[s], d.offsets[s + 1])].join('');
      out.push(`${d.conceptIds[c]}/${d.studentIds[d.seqStudent[s]]}: ${resp} (${rows.join(',')})`);
    }
  }
  return out;
}

describe('buildResponseData', () => {
  it('groups by concept then student, in first-appearance order, keeping input order within a sequence', () => {
    const { data, nonContiguous } = buildResponseData(
      internRows(['u', 'u', 'u', 'v', 'v', 'v'], ['b', 'a', 'b', 'a', 'b', 'a'], [1, 0, 0, 1, 1, 0]),
    );
    expect(nonContiguous).toBeNull();
    expect(describeData(data)).toEqual(['b/u: 10 (0,2)', 'b/v: 1 (4)', 'a/u: 0 (1)', 'a/v: 10 (3,5)']);
    expect([...data.conceptSeqs]).toEqual([0, 2, 4]);
    expect([...data.offsets]).toEqual([0, 2, 3, 4, 6]);
  });

  it('reports the first row where a student comes back after other students', () => {
    const { data, nonContiguous } = buildResponseData(
      internRows(['u', 'u', 'v', 'w', 'u', 'v'], ['a', 'a', 'a', 'a', 'a', 'a'], [1, 1, 0, 0, 1, 1]),
    );
    expect(nonContiguous).toEqual({ studentId: 'u', row: 4, previousRow: 1 });
    // The data is still grouped (input order within each student).
    expect(describeData(data)).toEqual(['a/u: 111 (0,1,4)', 'a/v: 01 (2,5)', 'a/w: 0 (3)']);
  });

  it('sorts rows within a student by the order key, stably, and then needs no contiguity', () => {
    const { data, nonContiguous } = buildResponseData(
      internRows(['u', 'v', 'u', 'u', 'v', 'u'], ['a', 'a', 'a', 'a', 'a', 'a'], [1, 0, 0, 1, 1, 0], [5, 2, 1, 5, 1, 3]),
    );
    expect(nonContiguous).toBeNull();
    // u: keys 5(row0) 1(row2) 5(row3) 3(row5) -> rows 2, 5, 0, 3 ; v: 2(row1) 1(row4) -> rows 4, 1
    expect(describeData(data)).toEqual(['a/u: 0011 (2,5,0,3)', 'a/v: 10 (4,1)']);
  });

  it('equals a naive grouping on random logs, with and without an order key', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 3 }), fc.boolean(), fc.integer({ min: 0, max: 4 })), {
          minLength: 1,
          maxLength: 40,
        }),
        fc.boolean(),
        (log, withOrder) => {
          const students = log.map(([s]) => `s${s}`);
          const concepts = log.map(([, c]) => `c${c}`);
          const order = withOrder ? log.map(([, , , t]) => t) : null;
          const { data, nonContiguous } = buildResponseData(internRows(students, concepts, log.map(([, , y]) => y), order));
          // Naive: rows by student first appearance, then (stably) by key; concepts by first appearance in time order
          // (input order without a key, the sorted order with one).
          const firstOf = (ids: string[], rows: number[]) => [...new Set(rows.map((i) => ids[i]))];
          const studentOrder = firstOf(students, log.map((_, i) => i));
          const rows = log.map((_, i) => i).sort(
            (a, b) => studentOrder.indexOf(students[a]) - studentOrder.indexOf(students[b]) || (order ? order[a] - order[b] : 0) || a - b,
          );
          const conceptOrder = firstOf(concepts, withOrder ? rows : log.map((_, i) => i));
          const expected: string[] = [];
          for (const c of conceptOrder) {
            for (const s of studentOrder) {
              const seq = rows.filter((i) => concepts[i] === c && students[i] === s);
              if (seq.length === 0) continue;
              expected.push(`${c}/${s}: ${seq.map((i) => (log[i][2] ? 1 : 0)).join('')} (${seq.join(',')})`);
            }
          }
          expect(describeData(data)).toEqual(expected);
          // Without rowOf, the same grouping and nothing else changed.
          const lean = buildResponseData(internRows(students, concepts, log.map(([, , y]) => y), order), { rowOf: false });
          expect(lean.data.rowOf.length).toBe(0);
          expect(lean.nonContiguous).toEqual(nonContiguous);
          expect({ ...lean.data, rowOf: data.rowOf }).toEqual(data);
          const contiguous = students.every((s, i) => i === 0 || s === students[i - 1] || !students.slice(0, i).includes(s));
          expect(nonContiguous === null).toBe(withOrder || contiguous);
        },
      ),
      { seed: TEST_SEED, numRuns: 300 },
    );
  });

  it('rejects arrays of different lengths and out-of-range indices', () => {
    expect(() => internRows(['u'], ['a', 'b'], [1])).toThrow(RangeError);
    expect(() =>
      buildResponseData({
        studentIds: ['u'],
        conceptIds: ['a'],
        student: Uint32Array.of(1),
        concept: Uint32Array.of(0),
        correct: Uint8Array.of(1),
      }),
    ).toThrow(/student index/);
  });

  // Built from real files and traced, every row comes back in input order equal to pyBKT's.
  it.each(GOLDEN_FILES)('traces %s to the golden values through rowOf', (file) => {
    const { header, rows } = readCsv(file);
    const col = (name: string) => header.indexOf(name);
    const { data, nonContiguous } = buildResponseData(
      internRows(
        rows.map((r) => r[col('student_id')]),
        rows.map((r) => r[col('concept_id')]),
        rows.map((r) => (r[col('correct')] === '1' ? 1 : 0)),
      ),
    );
    expect(nonContiguous).toBeNull();
    const pCorrect = new Float64Array(rows.length);
    traceMastery(DEFAULT_PARAMS, data, { pCorrect });
    let worst = 0;
    const iP = col('p_correct');
    for (let t = 0; t < rows.length; t++) worst = Math.max(worst, Math.abs(pCorrect[t] - Number(rows[data.rowOf[t]][iP])));
    expect(worst).toBeLessThanOrEqual(1e-9);
    expect(new Set(data.rowOf).size).toBe(rows.length);
  });
});
