/**
 * Fuzzing the CLI's inputs through the built bin: malformed CSV files for `bkt fit` and `bkt predict`, malformed
 * params files for `bkt predict --params`. Every one exits non-zero with one `bkt: file:line: problem` line (the
 * line where the mutation is, when the mutation fixes it), no stack trace, and leaves no output file (nor a
 * temporary one) behind. Seed: BKT_TEST_SEED.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { bkt, tempDir } from '../support/bin.js';
import { TEST_SEED } from '../support/seed.js';
import { size } from './support/size.js';

const RUNS = size(8, 60);
const { dir, cleanup } = tempDir();
afterAll(cleanup);

interface Malformed {
  readonly text: string;
  /** The line the error must name; null when several lines are right (any line number will do). */
  readonly line: number | null;
  readonly what: string;
}

const HEADER = 'student_id,concept_id,correct';
const row = (s: number, c: number, y: string) => `s${s},c${c},${y}`;

/** A valid log: students in contiguous blocks, 2 concepts. */
const validRows = fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.constantFrom('0', '1')), { minLength: 2, maxLength: 30 }).map((xs) =>
  xs.map(([c, y], i) => row(Math.floor(i / 5), c, y)),
);

// An empty answer and -1 are valid: a step with no observation (test/bkt/no-observation.test.ts).
const badCorrect = fc.constantFrom('2', 'yes', 'NaN', '1.0', ' 1', 'TRUE ', '😀', '-2', '- 1', 'null', '0x1', '"1"x');

const malformedCsv: fc.Arbitrary<Malformed> = fc.oneof(
  fc.tuple(validRows, fc.nat(), badCorrect).map(([rows, k, y]) => {
    const i = k % rows.length;
    const parts = rows[i].split(',');
    rows[i] = `${parts[0]},${parts[1]},${y}`;
    return { text: [HEADER, ...rows].join('\n') + '\n', line: i + 2, what: `correct = ${JSON.stringify(y)}` };
  }),
  fc.tuple(validRows, fc.nat(), fc.boolean()).map(([rows, k, short]) => {
    const i = k % rows.length;
    rows[i] = short ? rows[i].split(',').slice(0, 2).join(',') : `${rows[i]},extra`;
    return { text: [HEADER, ...rows].join('\n') + '\n', line: i + 2, what: short ? 'a short row' : 'a long row' };
  }),
  fc.tuple(validRows, fc.constantFrom('student_id', 'concept_id', 'correct')).map(([rows, drop]) => ({
    text: [HEADER.replace(drop, 'other'), ...rows].join('\n') + '\n',
    line: 1,
    what: `no ${drop} column`,
  })),
  fc.constantFrom<Malformed>(
    { text: '', line: 1, what: 'an empty file' },
    { text: `${HEADER}\n`, line: null, what: 'a header without rows' },
    { text: '\n\n\n', line: null, what: 'blank lines only' },
  ),
  validRows.map((rows) => {
    // The first student comes back after another student's rows.
    const text = [HEADER, ...rows, row(99, 0, '1'), row(0, 0, '1')].join('\n') + '\n';
    return { text, line: rows.length + 3, what: 'a student not contiguous' };
  }),
  fc.tuple(validRows, fc.nat()).map(([rows, k]) => {
    const i = k % rows.length;
    rows[i] = `"${rows[i]}`; // an opening quote never closed: the rest of the file is one field
    return { text: [HEADER, ...rows].join('\n') + '\n', line: null, what: 'an unterminated quote' };
  }),
  fc.tuple(validRows, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 20 })).map(([rows, k, bytes]) => {
    const i = k % rows.length;
    rows[i] = `${rows[i].split(',').slice(0, 2).join(',')},\u0000${Buffer.from(bytes).toString('latin1').replace(/[\r\n,"]/g, 'x')}`;
    return { text: [HEADER, ...rows].join('\n') + '\n', line: i + 2, what: 'binary in correct' };
  }),
);

const GOOD_PARAMS = { prior: 0.2, learn: 0.1, guess: 0.2, slip: 0.1, forget: 0 };
function paramsFile(overrides: Record<string, unknown> = {}, concept: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema_version: 1,
    generator: 'fuzz',
    input: { file: 'x.csv', sha256: '0'.repeat(64) },
    options: { threshold: 0.95 },
    fallback: { source: 'pooled', params: GOOD_PARAMS },
    totals: {},
    concepts: [{ concept_id: 'c0', use: 'fitted', params: GOOD_PARAMS, ...concept }],
    ...overrides,
  };
}

const badNumber = fc.constantFrom<unknown>(-0.1, 1.1, 2, 'NaN', null, '0.5', true, [], {}, 1e309 /* Infinity: JSON null */);

const malformedParams: fc.Arbitrary<{ text: string; what: string }> = fc.oneof(
  fc.tuple(fc.constantFrom('prior', 'learn', 'guess', 'slip', 'forget'), badNumber).map(([k, v]) => ({
    text: JSON.stringify(paramsFile({}, { params: { ...GOOD_PARAMS, [k]: v } }), null, 2),
    what: `concepts[0].params.${k} = ${JSON.stringify(v)}`,
  })),
  fc.tuple(fc.constantFrom('prior', 'guess', 'slip'), badNumber).map(([k, v]) => ({
    text: JSON.stringify(paramsFile({ fallback: { source: 'pooled', params: { ...GOOD_PARAMS, [k]: v } } }), null, 2),
    what: `fallback.params.${k} = ${JSON.stringify(v)}`,
  })),
  fc.constantFrom(
    { text: JSON.stringify(paramsFile({ schema_version: 3 }), null, 2), what: 'schema_version 3' },
    { text: JSON.stringify(paramsFile({ schema_version: undefined }), null, 2), what: 'no schema_version' },
    { text: JSON.stringify(paramsFile({ fallback: undefined }), null, 2), what: 'no fallback' },
    { text: JSON.stringify(paramsFile({ concepts: {} }), null, 2), what: 'concepts not an array' },
    { text: JSON.stringify(paramsFile({}, { use: 'maybe' }), null, 2), what: 'use maybe' },
    { text: JSON.stringify(paramsFile({}, { concept_id: 7 }), null, 2), what: 'concept_id a number' },
    { text: JSON.stringify(paramsFile({ options: { threshold: 7 } }), null, 2), what: 'threshold 7' },
    { text: JSON.stringify(paramsFile({ concepts: [{ concept_id: 'c0', use: 'fitted', params: GOOD_PARAMS }, { concept_id: 'c0', use: 'fitted', params: GOOD_PARAMS }] }), null, 2), what: 'a duplicate concept' },
    { text: '[1, 2, 3]', what: 'an array' },
    { text: '', what: 'an empty file' },
  ),
  fc.tuple(fc.nat(), fc.constant(JSON.stringify(paramsFile(), null, 2))).map(([k, text]) => {
    const cut = 1 + (k % (text.length - 2));
    return { text: text.slice(0, cut), what: `cut at ${cut}` };
  }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 200 }).filter((s) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return true;
    }
  }).map((text) => ({ text, what: 'random text' })),
);

const LINE = /^bkt: [^\n]*:(\d+): [^\n]+\n$/;
let n = 0;

function expectRejected(args: string[], expectedLine: number | null, what: string): void {
  const before = readdirSync(dir).sort();
  const r = bkt(args, dir);
  const where = `${what}: bkt ${args.join(' ')} -> ${r.status} ${r.stderr}`;
  expect(r.status, where).not.toBe(0);
  expect(r.status, where).not.toBe(70); // internal error
  expect(r.stderr, where).toMatch(LINE);
  if (expectedLine !== null) expect(Number(LINE.exec(r.stderr)![1]), where).toBe(expectedLine);
  expect(r.stderr, where).not.toMatch(/\n\s+at /);
  expect(readdirSync(dir).sort(), `${where}: left files`).toEqual(before);
}

describe(`CLI fuzzing (${RUNS} cases per command)`, () => {
  it('a malformed CSV: fit and predict exit non-zero with its line and write nothing', () => {
    fc.assert(
      fc.property(malformedCsv, (m) => {
        const name = `in${++n}.csv`;
        writeFileSync(join(dir, name), m.text);
        expectRejected(['fit', name, '-o', 'out.json', '--restarts', '1'], m.line, m.what);
        expectRejected(['predict', name, '-o', 'out.csv'], m.line, m.what);
        return true;
      }),
      { numRuns: RUNS, seed: TEST_SEED, endOnFailure: true },
    );
  });

  it('a malformed params file: predict exits non-zero with a line number and writes nothing', () => {
    fc.assert(
      fc.property(malformedParams, (m) => {
        const data = `data${++n}.csv`;
        const params = `params${n}.json`;
        writeFileSync(join(dir, data), `${HEADER}\n${row(0, 0, '1')}\n`);
        writeFileSync(join(dir, params), m.text);
        expectRejected(['predict', data, '--params', params, '-o', 'out.csv'], null, m.what);
        return true;
      }),
      { numRuns: RUNS, seed: TEST_SEED, endOnFailure: true },
    );
  });
});
