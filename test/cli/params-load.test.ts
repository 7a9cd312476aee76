/**
 * `bkt params load` through the built bin into a PostgreSQL scratch database: a v2 params file's concepts become
 * versions with their per-item guess and slip (and learn and forget of a fit with --multilearn), a dry run writes nothing, a second load of the same file creates no
 * version, a change makes one, and a bad value is refused naming the concept and field, with nothing written.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importedId } from '../../src/service/index.js';
import { openPostgres } from '../../src/store/postgres-driver.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { tempDir } from '../support/bin.js';
import { dataPath } from '../support/data.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/pg.js';
import { bktWithEnv } from '../fitjobs/support.js';

const TABLE = { prior: 0.31, learn: 0.12, guess: 0.21, slip: 0.09, forget: 0 };
const FALLBACK = { prior: 0.4, learn: 0.1, guess: 0.2, slip: 0.1, forget: 0 };
const ITEMS = [
  { value: '48881', guess: 0.05, slip: 0.3, rows: 35 },
  { value: '49016', guess: 0.45, slip: 0.02, rows: 20 },
];

function paramsFile(items = ITEMS, version = 2) {
  return {
    schema_version: version,
    generator: 'bkt-engine test',
    input: { file: 'x.csv', sha256: '0'.repeat(64) },
    options: { threshold: 0.95, multigs: 'item_id', multilearn: null, multiprior: null },
    fallback: { source: 'pooled', params: FALLBACK },
    totals: {},
    concepts: [
      {
        concept_id: 'Table',
        use: 'fitted',
        params: TABLE,
        responses: 120,
        ...(version === 2 && { per_value: { guess_slip: { column: 'item_id', values: items } } }),
      },
      { concept_id: 'Box and Whisker', use: 'fallback', params: { prior: 0.9, learn: 0.9, guess: 0.4, slip: 0.4, forget: 0 }, responses: 3 },
    ],
  };
}

describe('bkt params load', () => {
  let scratch: ScratchDatabase;
  let tmp: ReturnType<typeof tempDir>;
  const file = (name: string, body: unknown) => {
    const path = join(tmp.dir, name);
    writeFileSync(path, `${JSON.stringify(body, null, 2)}\n`);
    return path;
  };
  const run = (args: string[]) => bktWithEnv(['params', 'load', ...args], { LOG_LEVEL: 'silent', DATABASE_URL: scratch.url }, tmp.dir);
  const stored = async () => {
    const db = openPostgres({ connectionString: scratch.url, poolSize: 1, poolTimeoutMs: 5000, statementTimeoutMs: 5000, lockTimeoutMs: 2000 });
    try {
      const rows = await new SqlStore(db).loadParameters();
      return new Map(rows.map((r) => [r.conceptId, r]));
    } finally {
      await db.close();
    }
  };
  const table = importedId('concept', 'Table');
  const box = importedId('concept', 'Box and Whisker');

  beforeAll(async () => {
    scratch = await createScratchDatabase('paramsload');
    tmp = tempDir();
  });
  afterAll(async () => {
    await scratch?.drop();
    tmp?.cleanup();
  });

  it('a dry run says what would change and writes nothing', async () => {
    const r = run([file('p.json', paramsFile()), '--dry-run', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ dry_run: true, created: 2, changed: 0, unchanged: 0 });
    expect((await stored()).size).toBe(0);
  });

  it('loads each concept as a version with its items, the fallback concept at the fallback', async () => {
    const r = run([join(tmp.dir, 'p.json'), '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ dry_run: false, created: 2 });
    expect(out.concepts.find((c: { concept_id: string }) => c.concept_id === table)).toMatchObject({ file_concept_id: 'Table', version: 1, items: 2 });
    const s = await stored();
    expect(s.get(table)).toMatchObject({ version: 1, params: TABLE });
    expect([...s.get(table)!.items].sort((a, b) => (a.itemId < b.itemId ? -1 : 1))).toEqual(
      ITEMS.map((i) => ({ itemId: i.value, guess: i.guess, slip: i.slip, learn: null, forget: null })),
    );
    expect(s.get(box)).toMatchObject({ version: 1, params: FALLBACK, items: [] });
  });

  it('loading the same file again creates no version; a changed item makes one for its concept only', async () => {
    const again = run([join(tmp.dir, 'p.json')]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/nothing to load: the 2 concepts of p\.json already have these parameters/);
    expect((await stored()).get(table)!.version).toBe(1);

    const changed = [{ ...ITEMS[0], guess: 0.06 }, ITEMS[1]];
    const r = run([file('p2.json', paramsFile(changed))]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/loaded p2\.json: 0 concepts created, 1 changed, 1 unchanged/);
    expect(r.stdout).toMatch(/Table \(.*\): version 1 -> 2, 2 items/);
    const s = await stored();
    expect(s.get(table)!.version).toBe(2);
    expect(s.get(table)!.items.find((i) => i.itemId === '48881')).toEqual({ itemId: '48881', guess: 0.06, slip: 0.3, learn: null, forget: null });
    expect(s.get(box)!.version).toBe(1);
  });

  it('a v1 file replaces the items with none; --skip-fallback leaves fallback concepts alone', async () => {
    const r = run([file('v1.json', paramsFile(ITEMS, 1)), '--skip-fallback', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ changed: 1, skipped_fallback: 1 });
    const s = await stored();
    expect(s.get(table)).toMatchObject({ version: 3, items: [] });
    expect(s.get(box)!.version).toBe(1);
  });

  it('refuses a bad item value naming the concept and field, and writes nothing', async () => {
    const before = await stored();
    const bad = [ITEMS[0], { ...ITEMS[1], slip: 1.5 }];
    const r = run([file('bad.json', paramsFile(bad))]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad\.json:\d+: concepts\[0\] \(concept "Table"\)\.per_value\.guess_slip\.values\[1\]\.slip: must be a number strictly between 0 and 1, got 1\.5/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const dup = run([file('dup.json', paramsFile([ITEMS[0], ITEMS[0]]))]);
    expect(dup.status).toBe(1);
    expect(dup.stderr).toMatch(/concepts\[0\] \(concept "Table"\)\.per_value\.guess_slip\.values\[1\]\.value: values must be sorted and distinct: "48881" after "48881"/);
    expect(await stored()).toEqual(before);
  });

  it('loads the per-item learn and forget of `bkt fit --multilearn item_id` (with --multigs), exactly as the file has them', async () => {
    const out = join(tmp.dir, 'multilearn.json');
    const fit = bktWithEnv(['fit', dataPath('assist2009_pybkt_subset_items.csv'), '--multigs', 'item_id', '--multilearn', 'item_id', '--fit-forget', '--restarts', '1', '-o', out], {}, tmp.dir);
    expect(fit.status, fit.stderr).toBe(0);
    const r = run([out, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(out, 'utf8')) as {
      concepts: { concept_id: string; use: string; per_value: { guess_slip: { values: { value: string; guess: number; slip: number }[] }; learn: { values: { value: string; learn: number; forget: number }[] } } }[];
    };
    const s = await stored();
    for (const c of json.concepts.filter((x) => x.use === 'fitted')) {
      const items = new Map(s.get(importedId('concept', c.concept_id))!.items.map((i) => [i.itemId, i]));
      const learn = c.per_value.learn.values.filter((v) => v.value !== '');
      expect(items.size).toBe(learn.length);
      for (const v of learn) expect(items.get(v.value)).toMatchObject({ learn: v.learn, forget: v.forget });
      for (const v of c.per_value.guess_slip.values.filter((x) => x.value !== '')) expect(items.get(v.value)).toMatchObject({ guess: v.guess, slip: v.slip });
    }
    // Learn by another column than guess and slip: the service keys both by item, so the file is refused.
    const other = JSON.parse(readFileSync(out, 'utf8'));
    other.options.multilearn = 'template_id';
    for (const c of other.concepts) if (c.per_value?.learn) c.per_value.learn.column = 'template_id';
    const bad = run([file('other-column.json', other)]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/concepts\[0\] \(concept ".+"\)\.per_value\.learn\.column: the service keys items by one column/);
  });
});
