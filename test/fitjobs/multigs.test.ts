/**
 * A fit job with `multigs` on history imported with its items finds the parameters `bkt fit --multigs item_id` finds
 * on the same file (and the core's fit by item): the concept's own values and every item's guess and slip, which the
 * job stores as the concept's items at the new version; a fit without multigs carries them on unchanged.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildResponseData, fitDataset, type ConceptFit } from '../../src/bkt/index.js';
import { readResponseLog } from '../../src/cli/csv-input.js';
import { coreOptions, fitJobOptions } from '../../src/service/index.js';
import { bktJson, tempDir } from '../support/bin.js';
import { importItemsLog, ITEM_COLUMNS as COLUMNS, storedItems, uuidCopyWithItems } from '../support/imported-items.js';
import { DRIVERS, startService, type TestService } from '../support/service.js';
import { runFit } from './support.js';

const REQUEST = { multigs: true, restarts: 2 };

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
    await importItemsLog(svc.db);
  });
  afterAll(async () => {
    await svc?.stop();
    tmp?.cleanup();
  });
  const items = (concept: string) => storedItems(svc.app, concept);

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
        expect(Math.abs((s.guess ?? NaN) - v.guess)).toBeLessThan(1e-9);
        expect(Math.abs((s.slip ?? NaN) - v.slip)).toBeLessThan(1e-9);
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
        expect(Math.abs((byId.get(v.value)!.guess ?? NaN) - v.guess)).toBeLessThan(1e-9);
        expect(Math.abs((byId.get(v.value)!.slip ?? NaN) - v.slip)).toBeLessThan(1e-9);
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
