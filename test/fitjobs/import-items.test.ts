/**
 * `bkt import --item-col`: each history row keeps its item, and an item with its own guess and slip, or learn and
 * forget, in the concept's parameters computes its rows with them, as a live update would (and as the core's
 * paramsForRow gives a row's parameters): the stored states equal the core's updates row by
 * row, whether the file is imported at once or in two parts with --append.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  initialState, makeParams, paramsForRow, updateMastery, type BktParams, type MasteryState, type PerValueParams,
} from '../../src/bkt/index.js';
import { importedId } from '../../src/service/index.js';
import { SqlAdminStore } from '../../src/store/admin-store.js';
import { migrate } from '../../src/store/migrate.js';
import { openPglite } from '../../src/store/pglite-driver.js';
import { tempDir } from '../support/bin.js';
import { dataPath } from '../support/data.js';
import { bktWithEnv } from './support.js';
import { seedPgliteDir } from '../support/pglite-template.js';

const ITEMS = dataPath('assist2009_pybkt_subset_items.csv');
const TIMEOUTS = { statementTimeoutMs: 20_000, lockTimeoutMs: 5000 };
const TABLE = makeParams({ prior: 0.3, learn: 0.12, guess: 0.2, slip: 0.1, forget: 0 });
/** Items with guess and slip, with learn and forget too, with learn only (forget stays the concept's). */
const ITEM_PARAMS = [
  { itemId: '48881', guess: 0.05, slip: 0.3, learn: null, forget: null },
  { itemId: '49016', guess: 0.45, slip: 0.02, learn: 0.5, forget: 0.05 },
  { itemId: '57087', guess: null, slip: null, learn: 0.01, forget: null },
];
/** The same items as the core's per-value parameters (by item_id), to compute each row with paramsForRow. */
const PER_VALUE: PerValueParams = {
  guessSlip: {
    column: 'item_id',
    values: ITEM_PARAMS.filter((p) => p.guess !== null).map((p) => ({ value: p.itemId, guess: p.guess!, slip: p.slip!, rows: 1 })),
  },
  learn: {
    column: 'item_id',
    values: ITEM_PARAMS.filter((p) => p.learn !== null).map((p) => ({ value: p.itemId, learn: p.learn!, forget: p.forget ?? TABLE.forget, rows: 1 })),
  },
};

interface StoredRow { student_id: string; concept_id: string; seq: number; item_id: string | null; params_source: string; mastery_after: number; p_correct: number }
interface StoredPairRow { student_id: string; concept_id: string; p_known: number; p_unknown: number; version: number }

async function prepare(dataDir: string): Promise<void> {
  await seedPgliteDir(dataDir);
  const db = await openPglite(dataDir, TIMEOUTS);
  try {
    await migrate(db);
    const admin = new SqlAdminStore(db);
    await admin.putParameters(importedId('concept', 'Table'), TABLE);
    await admin.putItems(importedId('concept', 'Table'), ITEM_PARAMS);
  } finally {
    await db.close();
  }
}

async function stored(dataDir: string) {
  const db = await openPglite(dataDir, TIMEOUTS);
  try {
    const history = await db.query<StoredRow>(
      `SELECT student_id, concept_id, seq, item_id, params_source, mastery_after, p_correct FROM public.mastery_history
       ORDER BY student_id, concept_id, seq`,
    );
    const pairs = await db.query<StoredPairRow>('SELECT student_id, concept_id, p_known, p_unknown, version FROM public.student_mastery ORDER BY 1, 2');
    return { history, pairs };
  } finally {
    await db.close();
  }
}

/** The file replayed through the core answer by answer, as live updates with item_id would compute it. */
function expected() {
  const lines = readFileSync(ITEMS, 'utf8').trimEnd().split('\n');
  const header = lines[0].split(',');
  const [s, c, i, k] = ['student_id', 'concept_id', 'item_id', 'correct'].map((n) => header.indexOf(n));
  const items = new Set(ITEM_PARAMS.map((p) => p.itemId));
  const states = new Map<string, { state: MasteryState; n: number }>();
  const rows = new Map<string, { masteryAfter: number; pCorrect: number; source: string; item: string }>();
  for (const line of lines.slice(1)) {
    const f = line.split(',');
    const key = `${importedId('student', f[s])},${importedId('concept', f[c])}`;
    const table = f[c] === 'Table';
    const params: BktParams | undefined = table ? paramsForRow(TABLE, PER_VALUE, { guessSlip: f[i], learn: f[i] }) : undefined;
    const p = params ?? makeParams({});
    const at = states.get(key) ?? { state: initialState(p), n: 0 };
    const u = updateMastery(at.state, f[k] === '1', p, 0.95);
    states.set(key, { state: u.state, n: at.n + 1 });
    const source = !table ? 'default' : items.has(f[i]) ? 'item' : 'concept';
    rows.set(`${key},${at.n + 1}`, { masteryAfter: u.masteryAfter, pCorrect: u.pCorrect, source, item: f[i] });
  }
  return { states, rows };
}

function checkAgainstCore(got: Awaited<ReturnType<typeof stored>>, want: ReturnType<typeof expected>) {
  expect(got.history).toHaveLength(want.rows.size);
  for (const r of got.history) {
    const w = want.rows.get(`${r.student_id},${r.concept_id},${r.seq}`)!;
    expect(r.item_id).toBe(w.item);
    expect(r.params_source).toBe(w.source);
    expect(r.mastery_after).toBe(w.masteryAfter);
    expect(r.p_correct).toBe(w.pCorrect);
  }
  expect(got.pairs).toHaveLength(want.states.size);
  for (const p of got.pairs) {
    const w = want.states.get(`${p.student_id},${p.concept_id}`)!;
    expect(p.version).toBe(w.n);
    expect([p.p_known, p.p_unknown]).toEqual([w.state.known, w.state.unknown]);
  }
}

describe('bkt import --item-col', () => {
  let tmp: ReturnType<typeof tempDir>;
  const want = expected();
  beforeAll(() => {
    tmp = tempDir();
  });
  afterAll(() => tmp?.cleanup());
  const run = (dataDir: string, args: string[]) => bktWithEnv(['import', ...args], { LOG_LEVEL: 'silent', BKT_DATA_DIR: dataDir }, tmp.dir);

  it('stores each row with its item and uses the item values exactly as updates do', async () => {
    const dataDir = join(tmp.dir, 'whole');
    await prepare(dataDir);
    const r = run(dataDir, [ITEMS, '--item-col', 'item_id', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ rows_imported: 10791, input: { items: 678 } });
    const got = await stored(dataDir);
    expect(got.history.filter((h) => h.params_source === 'item').length).toBeGreaterThan(0);
    checkAgainstCore(got, want);
  });

  it('gives the same rows and states when the file is imported in two parts with --append', async () => {
    const dataDir = join(tmp.dir, 'parts');
    await prepare(dataDir);
    const lines = readFileSync(ITEMS, 'utf8').trimEnd().split('\n');
    const a = join(tmp.dir, 'items-a.csv');
    const b = join(tmp.dir, 'items-b.csv');
    writeFileSync(a, `${lines.slice(0, 5000).join('\n')}\n`);
    writeFileSync(b, `${[lines[0], ...lines.slice(5000)].join('\n')}\n`);
    expect(run(dataDir, [a, '--item-col', 'item_id']).status).toBe(0);
    const r = run(dataDir, [b, '--item-col', 'item_id', '--append']);
    expect(r.status, r.stderr).toBe(0);
    checkAgainstCore(await stored(dataDir), want);
  });

  it('refuses a missing column or an item id longer than the service accepts, naming them', async () => {
    const dataDir = join(tmp.dir, 'bad');
    await seedPgliteDir(dataDir);
    const missing = run(dataDir, [ITEMS, '--item-col', 'problem']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/missing column "problem".*--item-col/);
    const file = join(tmp.dir, 'long.csv');
    writeFileSync(file, `student_id,concept_id,item,correct\ns1,c1,ok,1\ns1,c1,${'x'.repeat(201)},0\n`);
    const long = run(dataDir, [file, '--item-col', 'item']);
    expect(long.status).toBe(1);
    expect(long.stderr).toMatch(/long\.csv:3: item has 201 characters; an item id has at most 200/);
    expect(long.stderr).not.toMatch(/\n\s+at /);
  });
});
