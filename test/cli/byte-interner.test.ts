/**
 * Interning fields by their bytes gives each distinct text one index, in order of first appearance, exactly as a
 * Map of the fields' texts would: quoted and unquoted spellings, "" escapes, invalid UTF-8 and enough ids to grow
 * the table (random fields, seed printed by fast-check; rerun one with FC_SEED=<seed>).
 */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { ByteInterner } from '../../src/cli/byte-interner.js';
import { CsvTokenizer, fieldText } from '../../src/cli/csv-records.js';

const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);

/** Indices the interner gives field 0 of each record of `bytes`, and those a Map of the texts gives. */
function intern(bytes: Buffer): { got: number[]; ids: string[]; want: number[]; texts: string[] } {
  const interner = new ByteInterner();
  const byText = new Map<string, number>();
  const got: number[] = [];
  const want: number[] = [];
  const t = new CsvTokenizer('x.csv', (r) => {
    got.push(interner.get(r, 0));
    const text = fieldText(r, 0);
    if (!byText.has(text)) byText.set(text, byText.size);
    want.push(byText.get(text)!);
  });
  t.push(bytes);
  t.end();
  return { got, ids: interner.ids, want, texts: [...byText.keys()] };
}

it('gives the indices and ids a Map of the texts gives', () => {
  const field = fc.oneof(
    fc.stringMatching(/^[a-c0-9é]{1,3}$/),
    fc.stringMatching(/^[a-c"]{0,3}$/).map((s) => `"${s.replaceAll('"', '""')}"`),
  );
  fc.assert(
    fc.property(fc.array(field, { minLength: 1, maxLength: 60 }), (fields) => {
      const r = intern(Buffer.from(fields.map((f) => `${f},x\n`).join('')));
      expect(r.got).toEqual(r.want);
      expect(r.ids).toEqual(r.texts);
    }),
    { numRuns: 300, ...(seed === undefined ? {} : { seed }) },
  );
});

it('keeps every id apart through many distinct ids, each seen again later', () => {
  const ids = Array.from({ length: 5000 }, (_, i) => `id-${(i * 7919) % 5000}`);
  const r = intern(Buffer.from([...ids, ...ids.reverse()].map((id) => `${id}\n`).join('')));
  expect(r.got).toEqual(r.want);
  expect(r.ids).toHaveLength(5000);
});

it('gives two byte spellings of the same text (invalid UTF-8) one index', () => {
  const r = intern(Buffer.concat([Buffer.from('a\xff\n', 'latin1'), Buffer.from('b\n'), Buffer.from('a\xfe\n', 'latin1')]));
  expect(r.ids).toEqual(['a\ufffd', 'b']);
  expect(r.got).toEqual([0, 1, 0]);
});
