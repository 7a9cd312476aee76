/**
 * A fit job with `multilearn` (learn and forget per item) on history imported with its items finds the parameters
 * `bkt fit --multilearn item_id` finds on the same file, and the core's fit by item, alone and with `multigs` and
 * `fit_forget`; the job stores every item's values with the concept's new version, and its replay leaves each pair at
 * the state the core's variant trace gives under the stored parameters, to the bit.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildResponseData, fitDataset, traceMasteryByValue, type BktParams, type ConceptFit, type PerValueParams, type ResponseData,
} from '../../src/bkt/index.js';
import { readResponseLog } from '../../src/cli/csv-input.js';
import { coreOptions, fitJobOptions, type FitRequest } from '../../src/service/index.js';
import { bktJson, tempDir } from '../support/bin.js';
import { importItemsLog, ITEM_COLUMNS as COLUMNS, storedItems, uuidCopyWithItems, type StoredItem } from '../support/imported-items.js';
import { DRIVERS, startService, type TestService } from '../support/service.js';
import { runFit } from './support.js';

const NAMES = ['prior', 'learn', 'guess', 'slip', 'forget'] as const;

/** The two jobs, each with the `bkt fit` options that ask for the same fit. */
interface JobBody { multilearn: boolean; multigs?: boolean; fit_forget?: boolean; restarts: number; replay?: boolean }
const CASES: { name: string; request: JobBody; cli: string[] }[] = [
  { name: 'multilearn', request: { multilearn: true, restarts: 2 }, cli: ['--multilearn', 'item_id'] },
  {
    name: 'multilearn with multigs and fit_forget',
    request: { multilearn: true, multigs: true, fit_forget: true, restarts: 2, replay: true },
    cli: ['--multilearn', 'item_id', '--multigs', 'item_id', '--fit-forget'],
  },
];

interface CliConcept {
  concept_id: string;
  params: Record<string, number>;
  per_value: {
    guess_slip?: { values: { value: string; guess: number; slip: number }[] };
    learn?: { values: { value: string; learn: number; forget: number }[] };
  };
}

/** The UUID file as the core's grouped data, with item_id as the column of both variants. */
async function itemData(file: string): Promise<ResponseData> {
  const log = await readResponseLog(file, COLUMNS);
  const items = log.extra.get('item_id')!;
  const column = { column: 'item_id', ids: items.ids, codes: items.codes };
  return buildResponseData({ ...log.rows, variants: { guessSlip: column, learn: column } }).data;
}

/** The core's fit of the data with a job's options, by item for the variants the job fits. */
function coreFit(data: ResponseData, body: JobBody): ConceptFit[] {
  const variants = { ...(body.multigs && { guessSlip: data.variants!.guessSlip }), ...(body.multilearn && { learn: data.variants!.learn }) };
  const request: FitRequest = { multigs: body.multigs, multilearn: body.multilearn, fitForget: body.fit_forget, restarts: body.restarts };
  return [...fitDataset({ ...data, variants }, coreOptions(fitJobOptions(request, 0.95), 0.95)).concepts];
}

const near = (a: number | null | undefined, b: number) => expect(Math.abs((a ?? NaN) - b)).toBeLessThan(1e-9);

describe.each(DRIVERS)('fit jobs with multilearn on %s', (driver) => {
  let svc: TestService;
  let tmp: ReturnType<typeof tempDir>;
  let data: ResponseData;
  let uuidFile: string;
  beforeAll(async () => {
    svc = await startService(driver);
    tmp = tempDir();
    uuidFile = await uuidCopyWithItems(tmp.dir);
    data = await itemData(uuidFile);
    await importItemsLog(svc.db);
  });
  afterAll(async () => {
    await svc?.stop();
    tmp?.cleanup();
  });
  const items = (concept: string) => storedItems(svc.app, concept);
  const storedParams = async (concept: string): Promise<BktParams> => (await svc.app.inject({ method: 'GET', url: `/api/bkt/parameters/${concept}` })).json();

  /** The stored items as the core's per-value parameters (null values are the concept's). */
  const perValueOf = (p: BktParams, stored: readonly StoredItem[]): PerValueParams => ({
    guessSlip: { column: 'item_id', values: stored.filter((i) => i.guess !== null).map((i) => ({ value: i.item_id, guess: i.guess!, slip: i.slip!, rows: 1 })) },
    learn: { column: 'item_id', values: stored.filter((i) => i.learn !== null || i.forget !== null).map((i) => ({ value: i.item_id, learn: i.learn ?? p.learn, forget: i.forget ?? p.forget, rows: 1 })) },
  });

  for (const [k, c] of CASES.entries()) {
    it(`${c.name}: finds the core's and \`bkt fit\`'s parameters by item and stores the items with the new version`, async () => {
      const reference = coreFit(data, c.request);
      const paramsFile = join(tmp.dir, `params-${k}.json`);
      bktJson(['fit', uuidFile, ...c.cli, '--restarts', String(c.request.restarts), '-o', paramsFile]);
      const cli = (JSON.parse(readFileSync(paramsFile, 'utf8')) as { concepts: CliConcept[] }).concepts;

      const job = await runFit(svc.app, { ...c.request, apply_degenerate: true });
      expect(job.options).toMatchObject({ multilearn: true, multigs: c.request.multigs === true, forget: c.request.fit_forget === true });
      expect(job.results.concepts).toHaveLength(reference.length);
      expect(cli).toHaveLength(reference.length);
      for (const want of reference) {
        const got = job.results.concepts.find((r: { concept_id: string }) => r.concept_id === want.conceptId);
        expect(got).toMatchObject({ applied: true, new_version: k + 1 });
        const fromCli = cli.find((x) => x.concept_id === want.conceptId)!;
        const stored = await storedParams(want.conceptId);
        for (const name of NAMES) {
          near(got.params[name], want.params[name]);
          near(stored[name], want.params[name]);
          near(stored[name], fromCli.params[name]);
        }
        const { version, items: list } = await items(want.conceptId);
        expect(version).toBe(k + 1);
        const byId = new Map(list.map((i) => [i.item_id, i]));
        const learn = want.perValue!.learn!.values.filter((v) => v.value !== '');
        expect(byId.size).toBe(learn.length);
        const cliLearn = new Map(fromCli.per_value.learn!.values.map((v) => [v.value, v]));
        for (const v of learn) {
          const s = byId.get(v.value)!;
          near(s.learn, v.learn);
          near(s.forget, v.forget);
          near(s.learn, cliLearn.get(v.value)!.learn);
          near(s.forget, cliLearn.get(v.value)!.forget);
        }
        if (c.request.fit_forget) expect(learn.some((v) => v.forget > 1e-6)).toBe(true);
        if (c.request.multigs) {
          const cliGs = new Map(fromCli.per_value.guess_slip!.values.map((v) => [v.value, v]));
          for (const v of want.perValue!.guessSlip!.values.filter((x) => x.value !== '')) {
            near(byId.get(v.value)!.guess, v.guess);
            near(byId.get(v.value)!.slip, cliGs.get(v.value)!.slip);
          }
        } else {
          expect(list.every((i) => i.guess === null && i.slip === null)).toBe(true);
        }
      }
      if (c.request.replay) {
        // Every pair replayed: its state is the core's variant trace of its history under the stored parameters.
        for (let ci = 0; ci < data.conceptIds.length; ci++) {
          const conceptId = data.conceptIds[ci];
          const p = await storedParams(conceptId);
          const perValue = perValueOf(p, (await items(conceptId)).items);
          const s0 = data.conceptSeqs[ci];
          const s1 = data.conceptSeqs[ci + 1];
          const finalKnown = new Float64Array(s1 - s0);
          const finalUnknown = new Float64Array(s1 - s0);
          traceMasteryByValue(p, perValue, { responses: data.responses, offsets: data.offsets.subarray(s0, s1 + 1) }, data.variants, { finalKnown, finalUnknown });
          const rows = await svc.db.query<{ student_id: string; p_known: number; p_unknown: number }>(
            'SELECT student_id, p_known, p_unknown FROM public.student_mastery WHERE concept_id = $1',
            [conceptId],
          );
          expect(rows).toHaveLength(s1 - s0);
          const byStudent = new Map(rows.map((r) => [r.student_id, r]));
          for (let s = s0; s < s1; s++) {
            const row = byStudent.get(data.studentIds[data.seqStudent[s]])!;
            expect([row.p_known, row.p_unknown]).toEqual([finalKnown[s - s0], finalUnknown[s - s0]]);
          }
        }
      }
    });
  }
});
