/** Grouping a response log into ResponseData: order, contiguity, order keys, and the golden files through it. */
import { describe, expect, it } from 'vitest';
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
