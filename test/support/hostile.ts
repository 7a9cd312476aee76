/**
 * fast-check generators of the values a hostile client sends in one field, by the field's kind, and of valid
 * instants with a known microsecond value rendered at 0 to 9 fraction digits and any offset (for retries that must
 * replay whatever precision the client uses).
 */
import fc from 'fast-check';

/** Strings of every shape: injection attempts, unicode, NUL, lone surrogates, near-UUIDs, very long ones. */
const NASTY = [
  '',
  ' ',
  "'; DROP TABLE student_mastery; --",
  "' OR '1'='1",
  '$1',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff\ud800',
  'MATCH (n) DETACH DELETE n',
  '../../etc/passwd',
  '%00',
  'NaN',
  '-0',
  '1e309',
  '__proto__',
  'constructor',
  'null',
  'true',
  '😀🎉',
  '\u202e\u200d\ufeff',
  'null\r\nX-Injected: 1',
  '00000000-0000-0000-0000-000000000000',
  '6b0f2a4e2f1c4f6e9d671c1e0b8b8a11',
  '{6b0f2a4e-2f1c-4f6e-9d67-1c1e0b8b8a11}',
  ' 6b0f2a4e-2f1c-4f6e-9d67-1c1e0b8b8a11',
  '6b0f2a4e-2f1c-4f6e-9d67-1c1e0b8b8a1',
  '6b0f2a4e-2f1c-4f6e-9d67-1c1e0b8b8a11\n',
];

export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...NASTY),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.uuid().map((u) => u.toUpperCase()),
  fc.integer({ min: 190, max: 260 }).map((n) => 'x'.repeat(n)),
);

/** Values of the wrong JSON type or shape for any field. */
export const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, -1e308, [], {}, [1], { a: 1 }),
  fc.integer(),
  fc.double(),
  fc.array(fc.oneof(fc.uuid(), fc.integer()), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);

/** Nested arrays 2 to 30 deep: deeper than the body parser allows past 16 levels in all. */
export const deepValue: fc.Arbitrary<unknown> = fc.integer({ min: 2, max: 30 }).map((d) => {
  let v: unknown = 1;
  for (let i = 0; i < d; i++) v = [v];
  return v;
});

const probabilityEdges = fc.constantFrom(0, 1, -0, 0.5, -1e-300, 1 + 2 ** -52, 5e-324, 1 - 2 ** -53, 2, -1, 1e308, Number.MIN_VALUE);
const integerEdges = fc.constantFrom(0, 1, -1, 2, 1.5, 99, 100, 101, 500, 501, 1000, 1001, 10000, 10001, 2 ** 31, 2 ** 32, 4294967295, 4294967296, 2 ** 53, -(2 ** 53));

/** Date-time texts at and past the edges: year 0000 and 9999, offsets past +-15:59, leap seconds, bad days. */
const INSTANT_EDGES = [
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '0001-01-01T00:00:00+00:01',
  '0001-01-01T00:30:00-00:01',
  '9999-12-31T23:59:59.999999Z',
  '9999-12-31T23:59:59.9999995Z',
  '9999-12-31T23:59:59-00:01',
  '2024-01-01T00:00:00+15:59',
  '2024-01-01T00:00:00+16:00',
  '2024-01-01T00:00:00+23:00',
  '2024-01-01T00:00:00-99:99',
  '2024-06-30T23:59:60Z',
  '2024-06-30T23:59:60.5Z',
  '2024-02-29T12:00:00Z',
  '2023-02-29T12:00:00Z',
  '2024-04-31T12:00:00Z',
  '2024-13-01T00:00:00Z',
  '2024-01-01T24:00:00Z',
  '2024-01-01t10:00:00z',
  '2024-01-01 10:00:00Z',
  '2024-01-01T10:00:00',
  '2024-01-01',
  '2024-01-01T10:00:00.1234567891234Z',
  '2024-01-01T10:00:00.Z',
  '+275760-09-13T00:00:00.000Z',
  '1970-01-01T00:00:00.0000005Z',
  '1969-12-31T23:59:59.9999995Z',
];

/** What one field may receive, by its kind. Values can be valid by chance; the tests accept a 2xx then. */
export type FieldKind = 'uuid' | 'boolean' | 'instant' | 'probability' | 'open' | 'integer' | 'item' | 'text' | 'array' | 'object';

export function hostile(kind: FieldKind): fc.Arbitrary<unknown> {
  const byKind: Record<FieldKind, fc.Arbitrary<unknown>> = {
    uuid: nastyString,
    boolean: fc.constantFrom('true', 'false', 1, 0, 'yes', null),
    instant: fc.oneof(fc.constantFrom(...INSTANT_EDGES), nastyString),
    probability: fc.oneof(probabilityEdges, fc.double(), fc.constantFrom('0.5', '1', 'NaN')),
    open: fc.oneof(probabilityEdges, fc.double(), fc.constantFrom('0.5')),
    integer: fc.oneof(integerEdges, fc.constantFrom('10', '1e3')),
    item: nastyString,
    text: nastyString,
    array: fc.oneof(fc.constantFrom([], [null], [[]], 'x', {}), fc.array(fc.uuid(), { maxLength: 3 })),
    object: fc.constantFrom([], 'x', 1, { extra: 1 }, { guess: 'x' }),
  };
  return fc.oneof({ weight: 4, arbitrary: byKind[kind] }, { weight: 2, arbitrary: wrongType }, { weight: 1, arbitrary: deepValue });
}

/** An instant as microseconds since the epoch (1900 to 2100), for texts that render it. */
export const instantMicros: fc.Arbitrary<bigint> = fc
  .tuple(fc.integer({ min: -2_208_988_800, max: 4_102_444_800 }), fc.constantFrom(0, 1000, 1), fc.integer({ min: 0, max: 999_999 }))
  .map(([seconds, step, micros]) => BigInt(seconds) * 1_000_000n + BigInt(step === 0 ? 0 : micros - (micros % step)));

/**
 * One RFC 3339 text for `micros`: local time at `offsetMinutes` (-959 to 959), with `digits` fraction digits
 * (never fewer than the value needs; digits past the sixth are `tail`, which starts below 5 so that it rounds down).
 */
export function renderInstant(micros: bigint, offsetMinutes: number, digits: number, tail: string): string {
  // Near the ends of years 0001-9999 an offset can push the local time out of range (year 0000), which the
  // service rightly refuses; such an instant is rendered in UTC instead.
  if (!localYearInRange(micros + BigInt(offsetMinutes) * 60_000_000n)) offsetMinutes = 0;
  const local = micros + BigInt(offsetMinutes) * 60_000_000n;
  let ms = local / 1000n;
  if (ms * 1000n > local) ms -= 1n;
  const subMs = Number(local - ms * 1000n);
  const iso = new Date(Number(ms)).toISOString();
  const six = `${iso.slice(20, 23)}${String(subMs).padStart(3, '0')}`;
  const needed = six.replace(/0+$/, '').length;
  const n = Math.max(digits, needed);
  const fraction = n === 0 ? '' : `.${(six + tail).slice(0, n)}`;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const zone = offsetMinutes === 0 && digits % 2 === 0 ? 'Z' : `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${iso.slice(0, 19)}${fraction}${zone}`;
}

/** 0001-01-01T00:00:00Z and 10000-01-01T00:00:00Z in microseconds (Date.UTC maps years 0-99 to 1900-1999). */
const FIRST_MICROS = -62_135_596_800_000_000n;
const YEAR_10000_MICROS = 253_402_300_800_000_000n;

function localYearInRange(local: bigint): boolean {
  return local >= FIRST_MICROS && local < YEAR_10000_MICROS;
}

/** A rendering of an instant: offset, fraction digits and the digits past the sixth. */
export const rendering = fc.record({
  offset: fc.oneof(fc.constant(0), fc.integer({ min: -959, max: 959 })),
  digits: fc.integer({ min: 0, max: 9 }),
  tail: fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 99 })).map(([a, b]) => `${a}${String(b).padStart(2, '0')}`),
});
