/**
 * A fit job with `multigs` on history imported with its items finds the parameters `bkt fit --multigs item_id` finds
 * on the same file (and the core's fit by item): the concept's own values and every item's guess and slip, which the
 * job stores as the concept's items at the new version; a fit without multigs carries them on unchanged.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildResponseData, fitDataset, type ConceptFit } from '../../src/bkt/index.js';
import { DEFAULT_COLUMNS, readResponseLog } from '../../src/cli/csv-input.js';
import { loadResponseData } from '../../src/cli/load.js';
import { coreOptions, fitJobOptions, importedId, importLog, mapIds, ParametersCache } from '../../src/service/index.js';
import { SqlImportStore } from '../../src/store/import-store.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { bktJson, tempDir } from '../support/bin.js';
import { dataPath } from '../support/data.js';
import { DRIVERS, startService, type TestService } from '../support/service.js';
import { runFit } from './support.js';

const ITEMS = dataPath('assist2009_pybkt_subset_items.csv');
const SILENT = { phase() {}, update() {}, stop() {} };
const COLUMNS = { ...DEFAULT_COLUMNS, extra: ['item_id'] };
const REQUEST = { multigs: true, restarts: 2 };

/** The file with its student and concept ids replaced by the UUIDs `bkt import` stores (restarts are seeded by id). */
async function uuidCopyWithItems(dir: string): Promise<string> {
  const log = await readResponseLog(ITEMS, COLUMNS);
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

/** The core's fit by item of a file, with the job's options. */
async function coreFitByItem(file: string): Promise<ConceptFit[]> {
  const log = await readResponseLog(file, COLUMNS);
  const items = log.extra.get('item_id')!;
  const { data } = buildResponseData({ ...log.rows, variants: { guessSlip: { column: 'item_id', ids: items.ids, codes: items.codes } } });
  return [...fitDataset(data, coreOptions(fitJobOptions(REQUEST, 0.95), 0.95)).concepts];
}

describe.each(DRIVERS)('fit jobs by item on %s', (driver) => {
  let svc: TestService;
  let tmp: ReturnType<typeof tempDir>;
  let reference: ConceptFit[];
  let cli: { concepts: { concept_id: string; params: Record<string, number>; per_value: { guess_slip: { values: { value: string; guess: number; slip: number }[] } } }[] };
  beforeAll(async () => {
    svc = await startService(driver);
    tmp = tempDir();
    const uuidFile = await uuidCopyWithItems(tmp.dir);
    reference = await coreFitByItem(uuidFile);
    bktJson(['fit', uuidFile, '--multigs', 'item_id', '--restarts', String(REQUEST.restarts), '-o', join(tmp.dir, 'params.json')]);
    cli = JSON.parse(readFileSync(join(tmp.dir, 'params.json'), 'utf8'));
    const { log, data } = await loadResponseData(ITEMS, COLUMNS, SILENT);
    const parameters = new ParametersCache(new SqlStore(svc.db), 60_000);
    await parameters.refresh();
    await importLog(new SqlImportStore(svc.db), {
      data, lineOf: log.lineOf, items: log.extra.get('item_id'), sha256: log.sha256, append: false, threshold: 0.95,
      parameters: (c) => parameters.get(c),
    }, mapIds(data));
  });
  afterAll(async () => {
    await svc?.stop();
    tmp?.cleanup();
  });
  const items = async (concept: string) => {
    const all: { item_id: string; guess: number; slip: number }[] = [];
    for (let after: string | undefined; ; ) {
      const r = await svc.app.inject({ method: 'GET', url: `/api/bkt/parameters/${concept}/items?limit=500${after ? `&after=${encodeURIComponent(after)}` : ''}` });
      expect(r.statusCode, r.body).toBe(200);
      const page = r.json();
      all.push(...page.items);
      if (!page.next_after) return { version: page.version as number, items: all };
      after = page.next_after;
    }
  };

  it("finds the core's parameters by item on the same data and stores the items with the new version", async () => {
    const job = await runFit(svc.app, { ...REQUEST, apply_degenerate: true });
    expect(job.options).toMatchObject({ multigs: true });
    expect(job.results.concepts).toHaveLength(reference.length);
    for (const want of reference) {
      const got = job.results.concepts.find((c: { concept_id: string }) => c.concept_id === want.conceptId);
      expect(got).toMatchObject({ applied: true, new_version: 1 });
      for (const name of ['prior', 'learn', 'guess', 'slip', 'forget'] as const) expect(Math.abs(got.params[name] - want.params[name])).toBeLessThan(1e-9);
      const stored = await items(want.conceptId);
      expect(stored.version).toBe(1);
      const values = want.perValue!.guessSlip!.values;
      expect(stored.items).toHaveLength(values.length);
      const byId = new Map(stored.items.map((i) => [i.item_id, i]));
      for (const v of values) {
        const s = byId.get(v.value)!;
        expect(Math.abs(s.guess - v.guess)).toBeLessThan(1e-9);
        expect(Math.abs(s.slip - v.slip)).toBeLessThan(1e-9);
      }
    }
  });

  it('finds the parameters `bkt fit --multigs item_id` finds on the same file', async () => {
    expect(cli.concepts).toHaveLength(reference.length);
    for (const c of cli.concepts) {
      const r = await svc.app.inject({ method: 'GET', url: `/api/bkt/parameters/${c.concept_id}` });
      expect(r.statusCode).toBe(200);
      const stored = r.json();
      for (const name of ['prior', 'learn', 'guess', 'slip', 'forget']) expect(Math.abs(stored[name] - c.params[name])).toBeLessThan(1e-9);
      const byId = new Map((await items(c.concept_id)).items.map((i) => [i.item_id, i]));
      expect(byId.size).toBe(c.per_value.guess_slip.values.length);
      for (const v of c.per_value.guess_slip.values) {
        expect(Math.abs(byId.get(v.value)!.guess - v.guess)).toBeLessThan(1e-9);
        expect(Math.abs(byId.get(v.value)!.slip - v.slip)).toBeLessThan(1e-9);
      }
    }
  });

  it('a fit without multigs keeps the items: carried to the new version', async () => {
    const concept = reference[0].conceptId;
    const before = await items(concept);
    const job = await runFit(svc.app, { restarts: 1, fit_forget: false, apply_degenerate: true, concept_ids: [concept] });
    expect(job.options).toMatchObject({ multigs: false, forget: false });
    const after = await items(concept);
    expect(after.version).toBe(2);
    expect(after.items).toEqual(before.items);
  });

  it('refuses forget and fit_forget that disagree, naming the field', async () => {
    const r = await svc.app.inject({ method: 'POST', url: '/api/bkt/fit', payload: { forget: true, fit_forget: false } });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toMatchObject({ code: 'invalid_input', field: 'fit_forget' });
  });
});
