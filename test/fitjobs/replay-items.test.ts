/**
 * Replay with items: a fit job's replay recomputes each pair from history with each row's item guess and slip (and
 * learn and forget, the transition after the row), as
 * the live update did, so live updates followed by a replay under the same parameters leave every state unchanged to
 * the bit; the fit writes the concept's items with its new version in the same transaction.
 */
import { describe, expect, it } from 'vitest';
import { initialState, makeParams, updateMastery } from '../../src/bkt/index.js';
import { DRIVERS, newId } from '../support/service.js';
import { requestsTo, serviceForSuite } from '../support/suite-service.js';
import { runFit } from './support.js';

const PARAMS = makeParams({ prior: 0.3, learn: 0.1, guess: 0.2, slip: 0.1, forget: 0 });
const ITEMS = [
  { item_id: 'hard', guess: 0.05, slip: 0.3 },
  { item_id: 'easy', guess: 0.45, slip: 0.02, learn: 0.5, forget: 0.05 },
  { item_id: 'slow', learn: 0.01 },
];
/** Each student's answers: (item, correct); 'other' has no parameters of its own, null is no item. */
const ANSWERS: [string | null, boolean][] = [
  ['hard', true], ['easy', false], ['other', true], [null, true], ['slow', true], ['hard', false], ['easy', true], ['slow', false],
  ['hard', true],
];

describe.each(DRIVERS)('replay with items on %s', (driver) => {
  const svc = serviceForSuite(driver);
  const { call } = requestsTo(svc);
  const states = (concept: string) =>
    svc.db.query<{ student_id: string; p_known: number; p_unknown: number; version: number }>(
      'SELECT student_id, p_known, p_unknown, version FROM public.student_mastery WHERE concept_id = $1 ORDER BY student_id',
      [concept],
    );

  it('reproduces every state stored by live updates with items, exactly', async () => {
    const concept = newId();
    expect((await call('PUT', `/api/bkt/parameters/${concept}`, { ...PARAMS })).statusCode).toBe(200);
    expect((await call('PUT', `/api/bkt/parameters/${concept}/items`, { items: ITEMS })).statusCode).toBe(200);
    await svc.parameters.refresh();
    const students = Array.from({ length: 5 }, newId);
    for (const [k, student] of students.entries()) {
      // Each student answers a rotation of the list, so the pairs differ.
      for (let t = 0; t < ANSWERS.length; t++) {
        const [item, correct] = ANSWERS[(t + k) % ANSWERS.length];
        const r = await call('POST', '/api/bkt/update', { student_id: student, concept_id: concept, correct, ...(item !== null && { item_id: item }) });
        expect(r.statusCode, r.body).toBe(200);
      }
    }
    const live = await states(concept);
    expect(live).toHaveLength(students.length);

    // The same history under the concept's parameters alone ends elsewhere: the items did move the states.
    let plain = initialState(PARAMS);
    for (const [, correct] of ANSWERS) plain = updateMastery(plain, correct, PARAMS, 0.95).state;
    const first = live.find((s) => s.student_id === students[0])!;
    expect(first.p_known).not.toBe(plain.known);

    // Every parameter fixed at its value: the fit writes a new version with the same numbers, then replays.
    const job = await runFit(svc.app, {
      concept_ids: [concept],
      fix: { prior: PARAMS.prior, learn: PARAMS.learn, guess: PARAMS.guess, slip: PARAMS.slip, forget: PARAMS.forget },
      apply_degenerate: true,
      replay: true,
    });
    expect(job.results.concepts[0]).toMatchObject({ applied: true, previous_version: 2, new_version: 3, pairs_replayed: students.length });
    const items = await call('GET', `/api/bkt/parameters/${concept}/items`);
    expect(items.json()).toMatchObject({ version: 3 });
    expect(items.json().items).toEqual([
      { item_id: 'easy', guess: 0.45, slip: 0.02, learn: 0.5, forget: 0.05 },
      { item_id: 'hard', guess: 0.05, slip: 0.3, learn: null, forget: null },
      { item_id: 'slow', guess: null, slip: null, learn: 0.01, forget: null },
    ]);

    const replayed = await states(concept);
    expect(replayed).toEqual(live);
  });
});
