/**
 * The assist2009 subset with its item_id column, as the fit-job tests by item use it: imported into a running
 * service (what `bkt import --item-col item_id` stores), copied with the UUIDs the import gives its ids, and the
 * concept's items read back page by page.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { DEFAULT_COLUMNS, readResponseLog } from '../../src/cli/csv-input.js';
import { loadResponseData } from '../../src/cli/load.js';
import { importedId, importLog, mapIds, ParametersCache } from '../../src/service/index.js';
import { SqlImportStore } from '../../src/store/import-store.js';
import { SqlStore } from '../../src/store/sql-store.js';
import type { SqlDatabase } from '../../src/store/sql.js';
import { dataPath } from './data.js';

export const ITEMS_FILE = dataPath('assist2009_pybkt_subset_items.csv');
/** The default columns with item_id read as well. */
export const ITEM_COLUMNS = { ...DEFAULT_COLUMNS, extra: ['item_id'] };
const SILENT = { phase() {}, update() {}, stop() {} };

/** Imports the file with its items into the service's database, in this process (as `bkt import` does). */
export async function importItemsLog(db: SqlDatabase): Promise<void> {
  const { log, data } = await loadResponseData(ITEMS_FILE, ITEM_COLUMNS, SILENT);
  const parameters = new ParametersCache(new SqlStore(db), 60_000);
  await parameters.refresh();
  await importLog(new SqlImportStore(db), {
    data, lineOf: log.lineOf, items: log.extra.get('item_id'), sha256: log.sha256, append: false, threshold: 0.95,
    parameters: (c) => parameters.get(c),
  }, mapIds(data));
}

/** The file with its student and concept ids replaced by the UUIDs the import stores (restarts are seeded by id). */
export async function uuidCopyWithItems(dir: string): Promise<string> {
  const log = await readResponseLog(ITEMS_FILE, ITEM_COLUMNS);
  const { rows } = log;
  const items = log.extra.get('item_id')!;
  let text = 'student_id,concept_id,item_id,correct\n';
  for (let i = 0; i < log.count; i++) {
    text += `${importedId('student', rows.studentIds[rows.student[i]])},${importedId('concept', rows.conceptIds[rows.concept[i]])},${items.ids[items.codes[i]]},${rows.correct[i]}\n`;
  }
  const out = join(dir, 'uuid-items.csv');
  writeFileSync(out, text);
  return out;
}

/** An item as GET /api/bkt/parameters/:concept/items returns it (null: the concept's value). */
export interface StoredItem {
  item_id: string;
  guess: number | null;
  slip: number | null;
  learn: number | null;
  forget: number | null;
}

/** Every item of a concept, following next_after, with the version the pages name. */
export async function storedItems(app: FastifyInstance, concept: string): Promise<{ version: number; items: StoredItem[] }> {
  const all: StoredItem[] = [];
  for (let after: string | undefined; ; ) {
    const r = await app.inject({ method: 'GET', url: `/api/bkt/parameters/${concept}/items?limit=500${after ? `&after=${encodeURIComponent(after)}` : ''}` });
    expect(r.statusCode, r.body).toBe(200);
    const page = r.json();
    all.push(...page.items);
    if (!page.next_after) return { version: page.version as number, items: all };
    after = page.next_after;
  }
}
