/**
 * The byte writer behind `bkt predict`: probabilities must be byte for byte `toFixed(10)` (also next to rounding
 * ties, where the fast path hands over to the exact conversion), integers as String(n), and buffers handed to the
 * sink complete, in order and never reused.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvWriter, PROBABILITY_DIGITS } from '../../src/cli/csv-writer.js';

/** What a writer gives its sink: kept chunks as they are (a stream's), else copies taken at once (a file's). */
function written(fill: (w: CsvWriter) => void, size = 64, keep = true): { text: string; chunks: Buffer[] } {
  const chunks: Buffer[] = [];
  const w = new CsvWriter({ writeBytes: (c) => (chunks.push(keep ? c : Buffer.from(c)), keep) }, size);
  fill(w);
  w.flush();
  return { text: Buffer.concat(chunks).toString('utf8'), chunks };
}

function probabilities(xs: readonly number[]): string {
  return written((w) => {
    for (const x of xs) {
      w.reserve(16);
      w.probability(x);
      w.newline();
    }
  }).text;
}

const expected = (xs: readonly number[]) => xs.map((x) => `${x.toFixed(PROBABILITY_DIGITS)}\n`).join('');

describe('CsvWriter.probability', () => {
  it('equals toFixed(10) on random doubles in [0, 1]', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 200 }), (xs) => {
        expect(probabilities(xs)).toBe(expected(xs));
      }),
      { numRuns: 300 },
    );
  });

  it('equals toFixed(10) next to rounding ties, at the ends and on tiny values', () => {
    const xs = [0, -0, 1, 5e-11, 4.9999999999e-11, 1e-300, Number.MIN_VALUE, 0.99999999995, 0.99999999994, 1 - 2 ** -53];
    // Values around k/1e10 + 0.5e-10, one ulp apart: the scaled product cannot tell these apart on its own.
    for (let k = 0; k < 2000; k++) {
      const base = (k * 4999 + 17 + 0.5) / 1e10;
      let x = base;
      for (let step = 0; step < 4; step++) x = nextDown(x);
      for (let step = 0; step < 9; step++, x = nextUp(x)) xs.push(x);
    }
    expect(probabilities(xs)).toBe(expected(xs));
  });

  it('writes 12 bytes per value below 1', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (x) => {
        expect(probabilities([x]).length).toBe(13);
      }),
    );
  });
});

describe('CsvWriter', () => {
  it.each([true, false])('writes integers, digits, text and copied bytes, across many small buffers (sink keeps: %s)', (keep) => {
    const src = Buffer.from('xx"a,b",c\u00e9yy');
    const ints = [0, 1, 9, 10, 99, 100, 12345, 4294967295];
    const { text, chunks } = written((w) => {
      for (let round = 0; round < 20; round++) {
        for (const n of ints) {
          w.reserve(12);
          w.uint(n);
          w.comma();
        }
        w.reserve(src.length + 2);
        w.bytes(src, 2, src.length - 2);
        w.digit(round % 10);
        w.newline();
        w.text('h\u00e9llo,');
      }
    }, 32, keep);
    const line = `${ints.join(',')},"a,b",c\u00e9`;
    const want = Array.from({ length: 20 }, (_, round) => `${line}${round % 10}\nh\u00e9llo,`).join('');
    expect(text).toBe(want);
    // The chunks were joined only at the end: none was written over after it was handed on.
    expect(chunks.length).toBeGreaterThan(10);
  });

  it('grows for a row longer than its buffer', () => {
    const long = Buffer.from('z'.repeat(1000));
    const { text } = written((w) => {
      w.reserve(long.length + 1);
      w.bytes(long, 0, long.length);
      w.newline();
    }, 16);
    expect(text).toBe(`${'z'.repeat(1000)}\n`);
  });
});

function nextUp(x: number): number {
  const b = new Float64Array([x]);
  const i = new BigInt64Array(b.buffer);
  i[0] += 1n;
  return b[0];
}

function nextDown(x: number): number {
  const b = new Float64Array([x]);
  const i = new BigInt64Array(b.buffer);
  i[0] -= 1n;
  return b[0];
}
