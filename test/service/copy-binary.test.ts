/**
 * The binary COPY writer against the real thing: streams built by BinaryCopyWriter are loaded by PostgreSQL 15 and
 * by PGlite through each driver's copyIn, and read back value for value (extremes of every type included).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinaryCopyWriter, uuidBytes } from '../../src/store/copy-binary.js';
import { TimeOrderedIds } from '../../src/store/import-store.js';
import { openPostgres } from '../../src/store/postgres-driver.js';
import type { SqlDatabase } from '../../src/store/sql.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/pg.js';
import { TEST_SEED } from '../support/seed.js';
import { openMemoryPglite } from '../support/pglite-template.js';

const TIMEOUTS = { statementTimeoutMs: 10_000, lockTimeoutMs: 5_000 };
const COLUMNS = ['u', 'i', 'b', 'f', 'flag', 'maybe'];

interface Row {
  u: string;
  i: number;
  b: string;
  f: number;
  flag: boolean;
  maybe: string | null;
}

const rowArb = fc.record({
  u: fc.uuid(),
  i: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  b: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
  f: fc.double({ noNaN: true, noDefaultInfinity: true }),
  flag: fc.boolean(),
  maybe: fc.option(fc.uuid(), { nil: null }),
});

function encode(rows: readonly Row[]): Uint8Array {
  const w = new BinaryCopyWriter(16);
  for (const r of rows) {
    w.row(6).uuid(r.u).int4(r.i).int8(BigInt(r.b)).float8(r.f).bool(r.flag);
    if (r.maybe === null) w.null();
    else w.uuid(r.maybe);
  }
  return w.finish();
}

async function roundTrip(db: SqlDatabase, rows: readonly Row[]): Promise<Row[]> {
  await db.exec('DROP TABLE IF EXISTS copy_probe; CREATE TABLE copy_probe (n serial, u uuid, i int4, b int8, f float8, flag boolean, maybe uuid)');
  const loaded = await db.transaction((tx) => tx.copyIn('public.copy_probe', COLUMNS, encode(rows)));
  expect(loaded).toBe(rows.length);
  const back = await db.query<Row & { f: number | string }>('SELECT u::text, i, b::text, f, flag, maybe::text FROM copy_probe ORDER BY n');
  return back.map((r) => ({ ...r, f: Number(r.f) }));
}

const drivers: [string, () => Promise<{ db: SqlDatabase; done: () => Promise<void> }>][] = [
  [
    'PostgreSQL 15',
    async () => {
      const scratch: ScratchDatabase = await createScratchDatabase('copy');
      const db = openPostgres({ connectionString: scratch.url, poolSize: 2, poolTimeoutMs: 5_000, ...TIMEOUTS });
      return { db, done: async () => (await db.close(), await scratch.drop()) };
    },
  ],
  [
    'PGlite',
    async () => {
      const db = await openMemoryPglite(TIMEOUTS);
      return { db, done: () => db.close() };
    },
  ],
];

describe.each(drivers)('binary COPY on %s', (_name, open) => {
  let db: SqlDatabase;
  let done: () => Promise<void>;
  beforeAll(async () => {
    ({ db, done } = await open());
  });
  afterAll(async () => {
    await done?.();
  });

  it('loads every value exactly as written, extremes included', async () => {
    const rows: Row[] = [
      { u: '00000000-0000-0000-0000-000000000000', i: -(2 ** 31), b: String(-(2n ** 63n)), f: -0, flag: false, maybe: null },
      { u: 'ffffffff-ffff-ffff-ffff-ffffffffffff', i: 2 ** 31 - 1, b: String(2n ** 63n - 1n), f: Number.MAX_VALUE, flag: true, maybe: 'ABCDEF01-2345-6789-abcd-ef0123456789' },
      { u: '3f6c1d2e-7a4b-4e5f-9c8d-0b1a2c3d4e5f', i: 0, b: '0', f: Number.MIN_VALUE, flag: true, maybe: null },
    ];
    const back = await roundTrip(db, rows);
    expect(back).toEqual(rows.map((r) => ({ ...r, maybe: r.maybe?.toLowerCase() ?? null })));
  });

  it('round-trips random rows (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(rowArb, { maxLength: 40 }), async (rows) => {
        const back = await roundTrip(db, rows);
        expect(back).toEqual(rows.map((r) => ({ ...r, u: r.u.toLowerCase(), maybe: r.maybe?.toLowerCase() ?? null })));
      }),
      { seed: TEST_SEED, numRuns: 30 },
    );
  });

  it('a stream that breaks the format is refused and loads nothing', async () => {
    await db.exec('DROP TABLE IF EXISTS copy_probe; CREATE TABLE copy_probe (n serial, u uuid, i int4, b int8, f float8, flag boolean, maybe uuid)');
    const good = encode([{ u: '3f6c1d2e-7a4b-4e5f-9c8d-0b1a2c3d4e5f', i: 1, b: '1', f: 1, flag: true, maybe: null }]);
    const truncated = good.subarray(0, good.length - 9);
    await expect(db.transaction((tx) => tx.copyIn('public.copy_probe', COLUMNS, truncated))).rejects.toThrow();
    expect(await db.query('SELECT * FROM copy_probe')).toEqual([]);
  });
});

describe('copy-binary helpers', () => {
  it('uuidBytes refuses anything but 32 hex digits', () => {
    const out = new Uint8Array(16);
    for (const bad of ['', 'xyz', '3f6c1d2e-7a4b-4e5f-9c8d-0b1a2c3d4e5', '3f6c1d2e-7a4b-4e5f-9c8d-0b1a2c3d4e5f0', 'g'.repeat(32)]) {
      expect(() => uuidBytes(bad, out, 0)).toThrow(TypeError);
    }
    uuidBytes('000102030405060708090a0b0c0d0e0f', out, 0);
    expect([...out]).toEqual([...Array(16).keys()]);
  });
});

describe('time-ordered history row ids', () => {
  it('are UUIDv7, distinct, and sort in creation order across batches', () => {
    const gen = new TimeOrderedIds();
    const all: string[] = [];
    for (const n of [1, 5000, 3, 20000]) {
      const out = new Uint8Array(16 * n);
      gen.fill(out, n);
      for (let i = 0; i < n; i++) all.push(Buffer.from(out.subarray(16 * i, 16 * i + 16)).toString('hex'));
    }
    for (const h of all) {
      expect(h[12]).toBe('7');
      expect('89ab').toContain(h[16]);
    }
    expect(new Set(all).size).toBe(all.length);
    expect([...all].sort()).toEqual(all);
    const ms = parseInt(all[0].slice(0, 12), 16);
    expect(Math.abs(ms - Date.now())).toBeLessThan(60_000);
  });
});
