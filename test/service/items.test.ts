/**
 * Items in the service: item_id accepted, stored and returned by updates and history reads, with the params_source
 * that computed each answer; bad item ids refused with the field named; the story's created_at on history rows.
 * Items with their own guess and slip, learn and forget: every answer moves mastery exactly as the core computes it.
 */
import { describe, expect, it } from 'vitest';
import {
  initialState, makeParams, traceMasteryByValue, updateMastery, type PerValueParams,
} from '../../src/bkt/index.js';
import { indexVariantColumn } from '../../src/bkt/variants.js';
import { ITEMS_BODY_LIMIT } from '../../src/http/fit-routes.js';
import { DRIVERS, newId } from '../support/service.js';
import { requestsTo, serviceForSuite } from '../support/suite-service.js';

describe.each(DRIVERS)('item_id on %s', (driver) => {
  const svc = serviceForSuite(driver);
  const { post } = requestsTo(svc);
  const history = async (student: string) => {
    const r = await svc.app.inject({ method: 'GET', url: `/api/bkt/history/${student}?limit=1000` });
    expect(r.statusCode).toBe(200);
    return r.json().rows as Record<string, unknown>[];
  };

  it('stores and returns item_id on single and batch updates, with params_source', async () => {
    const student = newId();
    const concept = newId();
    const one = await post('/api/bkt/update', { student_id: student, concept_id: concept, correct: true, item_id: 'Q-7 é' });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ item_id: 'Q-7 é', params_source: 'default', version: 1 });
    const plain = await post('/api/bkt/update', { student_id: student, concept_id: concept, correct: false });
    expect(plain.json()).toMatchObject({ item_id: null, params_source: 'default', version: 2 });
    const batch = await post('/api/bkt/update/batch', {
      responses: [
        { student_id: student, concept_id: concept, correct: true, item_id: 'b1' },
        { student_id: student, concept_id: newId(), correct: true, item_id: 'b2' },
      ],
    });
    expect(batch.statusCode).toBe(200);
    expect(batch.json().results.map((r: { item_id: string }) => r.item_id)).toEqual(['b1', 'b2']);

    const rows = await history(student);
    expect(rows.map((r) => r.item_id).sort()).toEqual(['Q-7 é', 'b1', 'b2', null].sort());
    expect(rows.every((r) => r.params_source === 'default')).toBe(true);
    expect(rows.every((r) => typeof r.created_at === 'string' && !Number.isNaN(Date.parse(r.created_at)))).toBe(true);
  });

  it('records concept as the source under stored parameters', async () => {
    const concept = newId();
    const put = await svc.app.inject({
      method: 'PUT',
      url: `/api/bkt/parameters/${concept}`,
      payload: { prior: 0.3, learn: 0.1, guess: 0.2, slip: 0.1 },
    });
    expect(put.statusCode).toBe(200);
    await svc.parameters.refresh();
    const r = await post('/api/bkt/update', { student_id: newId(), concept_id: concept, correct: true, item_id: 'x' });
    expect(r.json()).toMatchObject({ params_source: 'concept', item_id: 'x' });
  });

  it('refuses an empty or too long item_id, naming the field', async () => {
    const base = { student_id: newId(), concept_id: newId(), correct: true };
    for (const item_id of ['', 'x'.repeat(201), 5]) {
      const r = await post('/api/bkt/update', { ...base, item_id });
      expect(r.statusCode).toBe(400);
      expect(r.json().error).toMatchObject({ code: 'invalid_input', field: 'item_id' });
    }
    const b = await post('/api/bkt/update/batch', { responses: [base, { ...base, item_id: 'y'.repeat(201) }] });
    expect(b.statusCode).toBe(400);
    expect(b.json().error).toMatchObject({ code: 'invalid_input', field: 'responses[1].item_id' });
    expect(await svc.service.recordResponse({ ...{ studentId: base.student_id, conceptId: base.concept_id }, correct: true, itemId: 'z'.repeat(200) }))
      .toMatchObject({ itemId: 'z'.repeat(200) });
    await expect(svc.service.recordResponse({ studentId: base.student_id, conceptId: base.concept_id, correct: true, itemId: 'z'.repeat(201) }))
      .rejects.toMatchObject({ code: 'invalid_input', field: 'item_id' });
  });

  it('treats a repeated response_id with another item_id as a conflict, and the same one as a replay', async () => {
    const body = { student_id: newId(), concept_id: newId(), correct: true, response_id: newId(), item_id: 'a' };
    expect((await post('/api/bkt/update', body)).json()).toMatchObject({ replayed: false, item_id: 'a' });
    expect((await post('/api/bkt/update', body)).json()).toMatchObject({ replayed: true, item_id: 'a' });
    const other = await post('/api/bkt/update', { ...body, item_id: 'b' });
    expect(other.statusCode).toBe(409);
    const none = await post('/api/bkt/update', { ...body, item_id: undefined });
    expect(none.statusCode).toBe(409);
  });
});

describe.each(DRIVERS)('per-item guess and slip on %s', (driver) => {
  const svc = serviceForSuite(driver);
  const { call } = requestsTo(svc);
  const conceptParams = makeParams({ prior: 0.3, learn: 0.1, guess: 0.2, slip: 0.1, forget: 0 });
  const hard = { item_id: 'hard', guess: 0.05, slip: 0.3 };
  const easy = { item_id: 'easy', guess: 0.45, slip: 0.02 };
  /** An item as GET returns it: learn and forget null (the concept's). */
  const read = (i: typeof hard) => ({ ...i, learn: null, forget: null });

  async function setUp(): Promise<string> {
    const concept = newId();
    expect((await call('PUT', `/api/bkt/parameters/${concept}`, { ...conceptParams })).statusCode).toBe(200);
    const put = await call('PUT', `/api/bkt/parameters/${concept}/items`, { items: [hard, easy] });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toEqual({ concept_id: concept, version: 2, items: 2 });
    await svc.parameters.refresh();
    return concept;
  }

  it("moves mastery by exactly what the core computes with the item's guess and slip", async () => {
    const concept = await setUp();
    const student = newId();
    const r = await call('POST', '/api/bkt/update', { student_id: student, concept_id: concept, correct: true, item_id: 'hard' });
    const expected = updateMastery(initialState(conceptParams), true, { ...conceptParams, guess: 0.05, slip: 0.3 }, 0.95);
    expect(r.json()).toMatchObject({ params_source: 'item', item_id: 'hard', mastery_after: expected.masteryAfter, p_correct: expected.pCorrect });
    // A hard item answered correctly says more than the concept's average item, and more than an easy one.
    const plain = updateMastery(initialState(conceptParams), true, conceptParams, 0.95);
    const easyU = updateMastery(initialState(conceptParams), true, { ...conceptParams, guess: 0.45, slip: 0.02 }, 0.95);
    expect(expected.masteryAfter).toBeGreaterThan(plain.masteryAfter);
    expect(plain.masteryAfter).toBeGreaterThan(easyU.masteryAfter);
    const unknown = await call('POST', '/api/bkt/update', { student_id: newId(), concept_id: concept, correct: true, item_id: 'other' });
    expect(unknown.json()).toMatchObject({ params_source: 'concept', mastery_after: plain.masteryAfter });
    const none = await call('POST', '/api/bkt/update', { student_id: newId(), concept_id: concept, correct: true });
    expect(none.json()).toMatchObject({ params_source: 'concept', mastery_after: plain.masteryAfter });
  });

  it('replays the history to the same stored states, bit for bit', async () => {
    const concept = await setUp();
    const students = [newId(), newId(), newId()];
    const items = ['hard', 'easy', 'other', undefined];
    let k = 0;
    for (let round = 0; round < 4; round++) {
      const responses = students.flatMap((s, i) =>
        [0, 1].map(() => {
          k++;
          const item = items[(k * 7 + i) % items.length];
          return { student_id: s, concept_id: concept, correct: (k * 5 + i) % 3 !== 0, ...(item && { item_id: item }) };
        }),
      );
      expect((await call('POST', '/api/bkt/update/batch', { responses })).statusCode).toBe(200);
      const single = responses[0];
      expect((await call('POST', '/api/bkt/update', single)).statusCode).toBe(200);
    }
    const byItem = new Map([hard, easy].map((i) => [i.item_id, { ...conceptParams, guess: i.guess, slip: i.slip }]));
    for (const s of students) {
      const rows = (await call('GET', `/api/bkt/history/${s}?concept_id=${concept}&limit=1000`)).json().rows as {
        seq: number; correct: boolean; item_id: string | null; params_source: string; mastery_after: number;
      }[];
      expect(rows.length).toBeGreaterThan(4);
      let state = initialState(conceptParams);
      for (const row of [...rows].sort((a, b) => a.seq - b.seq)) {
        const p = row.params_source === 'item' ? byItem.get(row.item_id!)! : conceptParams;
        expect(row.params_source).toBe(row.item_id !== null && byItem.has(row.item_id) ? 'item' : 'concept');
        const u = updateMastery(state, row.correct, p, 0.95);
        expect(row.mastery_after).toBe(u.masteryAfter);
        state = u.state;
      }
      const [stored] = await svc.db.query<{ p_known: number; p_unknown: number }>(
        'SELECT p_known, p_unknown FROM public.student_mastery WHERE student_id = $1 AND concept_id = $2',
        [s, concept],
      );
      expect(stored).toEqual({ p_known: state.known, p_unknown: state.unknown });
    }
  });

  it('reads items in pages, keeps them across a concept change, and replaces them on PUT', async () => {
    const concept = await setUp();
    const first = await call('GET', `/api/bkt/parameters/${concept}/items?limit=1`);
    expect(first.json()).toEqual({ concept_id: concept, version: 2, items: [read(easy)], next_after: 'easy' });
    const second = await call('GET', `/api/bkt/parameters/${concept}/items?limit=1&after=easy`);
    expect(second.json()).toEqual({ concept_id: concept, version: 2, items: [read(hard)] });
    expect((await call('PUT', `/api/bkt/parameters/${concept}`, { ...conceptParams, learn: 0.2 })).json().version).toBe(3);
    expect((await call('GET', `/api/bkt/parameters/${concept}/items`)).json()).toEqual({ concept_id: concept, version: 3, items: [read(easy), read(hard)] });
    expect((await call('PUT', `/api/bkt/parameters/${concept}/items`, { items: [hard] })).json().version).toBe(4);
    expect((await call('GET', `/api/bkt/parameters/${concept}/items`)).json().items).toEqual([read(hard)]);
    const fresh = newId();
    expect((await call('GET', `/api/bkt/parameters/${fresh}/items`)).json()).toEqual({ concept_id: fresh, version: 0, items: [] });
  });

  it('takes the largest item set the schema allows in one PUT, and 413 only past the body limit', async () => {
    const concept = newId();
    const items = Array.from({ length: 10_000 }, (_, i) => ({ item_id: `${String(i).padStart(5, '0')}-${'x'.repeat(194)}`, guess: 0.123456789, slip: 0.0987654321 }));
    const r = await call('PUT', `/api/bkt/parameters/${concept}/items`, { items });
    expect(r.statusCode, r.body.slice(0, 200)).toBe(200);
    expect(r.json()).toMatchObject({ concept_id: concept, items: 10_000 });
    const tooBig = await svc.app.inject({
      method: 'PUT',
      url: `/api/bkt/parameters/${concept}/items`,
      headers: { 'content-type': 'application/json' },
      payload: `{"items": [], "pad": "${'x'.repeat(ITEMS_BODY_LIMIT)}"}`,
    });
    expect(tooBig.statusCode).toBe(413);
  });

  it('refuses bad items, naming the entry and field', async () => {
    const concept = newId();
    const cases: [unknown, string][] = [
      [[{ item_id: 'a', guess: 0, slip: 0.1 }], 'items[0].guess'],
      [[{ item_id: 'a', guess: 0.1, slip: 1 }], 'items[0].slip'],
      [[{ item_id: '', guess: 0.1, slip: 0.1 }], 'items[0].item_id'],
      [[{ item_id: 'a', guess: 0.1, slip: 0.1 }, { item_id: 'a', guess: 0.2, slip: 0.1 }], 'items[1].item_id'],
      [[{ item_id: 'a', guess: 0.1 }], 'items[0].slip'],
      [[{ item_id: 'a', slip: 0.1, learn: 0.2 }], 'items[0].guess'],
      [[{ item_id: 'a', learn: 1.5 }], 'items[0].learn'],
      [[{ item_id: 'a', forget: -0.1 }], 'items[0].forget'],
      [[{ item_id: 'a' }], 'items[0].item_id'],
      [[{ item_id: 'a', guess: null, slip: null, learn: null }], 'items[0].item_id'],
    ];
    for (const [items, field] of cases) {
      const r = await call('PUT', `/api/bkt/parameters/${concept}/items`, { items });
      expect(r.statusCode).toBe(400);
      expect(r.json().error).toMatchObject({ code: 'invalid_input', field });
    }
    expect((await call('GET', `/api/bkt/parameters/${concept}/items`)).json().version).toBe(0);
  });
});

describe.each(DRIVERS)('per-item learn and forget on %s', (driver) => {
  const svc = serviceForSuite(driver);
  const { call } = requestsTo(svc);
  const conceptParams = makeParams({ prior: 0.3, learn: 0.1, guess: 0.2, slip: 0.1, forget: 0.02 });
  /** Learn only (forget stays the concept's), every value, forget only. */
  const slow = { item_id: 'slow', learn: 0.01 };
  const rich = { item_id: 'rich', guess: 0.05, slip: 0.3, learn: 0.6, forget: 0.1 };
  const leaky = { item_id: 'leaky', forget: 0.4 };
  const ITEMS = [slow, rich, leaky];
  /** The same items as the core's per-value parameters by item (a value without its own takes the concept's). */
  const perValue: PerValueParams = {
    guessSlip: { column: 'item_id', values: [{ value: 'rich', guess: 0.05, slip: 0.3, rows: 1 }] },
    learn: {
      column: 'item_id',
      values: [
        { value: 'leaky', learn: conceptParams.learn, forget: 0.4, rows: 1 },
        { value: 'rich', learn: 0.6, forget: 0.1, rows: 1 },
        { value: 'slow', learn: 0.01, forget: conceptParams.forget, rows: 1 },
      ],
    },
  };
  const ANSWERS: [string | null, boolean][] = [
    ['slow', true], ['rich', true], ['other', false], [null, true], ['leaky', true], ['slow', false], ['rich', false], ['leaky', true],
  ];

  /** The core's variant trace of one student's answers: per row mastery after and P(correct), and the final state. */
  function coreTrace(answers: readonly [string | null, boolean][]) {
    const ids = [...new Set(answers.map(([i]) => i ?? ''))];
    const codes = Uint32Array.from(answers, ([i]) => ids.indexOf(i ?? ''));
    const g = { offsets: Uint32Array.of(0, answers.length), conceptSeqs: Uint32Array.of(0, 1) };
    const variants = { guessSlip: indexVariantColumn('guessSlip', 'item_id', ids, codes, g), learn: indexVariantColumn('learn', 'item_id', ids, codes, g) };
    const out = {
      masteryAfter: new Float64Array(answers.length),
      pCorrect: new Float64Array(answers.length),
      finalKnown: new Float64Array(1),
      finalUnknown: new Float64Array(1),
    };
    traceMasteryByValue(conceptParams, perValue, { responses: Uint8Array.from(answers, ([, c]) => (c ? 1 : 0)), offsets: g.offsets }, variants, out);
    return out;
  }

  async function setUp(): Promise<string> {
    const concept = newId();
    expect((await call('PUT', `/api/bkt/parameters/${concept}`, { ...conceptParams })).statusCode).toBe(200);
    const put = await call('PUT', `/api/bkt/parameters/${concept}/items`, { items: ITEMS });
    expect(put.statusCode, put.body).toBe(200);
    await svc.parameters.refresh();
    return concept;
  }

  it("reads items with learn and forget, null where the concept's value applies", async () => {
    const concept = await setUp();
    const r = await call('GET', `/api/bkt/parameters/${concept}/items`);
    expect(r.json().items).toEqual([
      { item_id: 'leaky', guess: null, slip: null, learn: null, forget: 0.4 },
      { item_id: 'rich', guess: 0.05, slip: 0.3, learn: 0.6, forget: 0.1 },
      { item_id: 'slow', guess: null, slip: null, learn: 0.01, forget: null },
    ]);
  });

  it("moves mastery after each answer by the answered item's learn and forget, exactly as the core's variant trace", async () => {
    const concept = await setUp();
    const student = newId();
    const want = coreTrace(ANSWERS);
    // The item's learn acts after its own answer: answering 'slow' correctly from the prior ends lower than the concept.
    const first = updateMastery(initialState(conceptParams), true, conceptParams, 0.95);
    expect(want.masteryAfter[0]).toBeLessThan(first.masteryAfter);
    for (const [t, [item, correct]] of ANSWERS.entries()) {
      const r = await call('POST', '/api/bkt/update', { student_id: student, concept_id: concept, correct, ...(item !== null && { item_id: item }) });
      expect(r.statusCode, r.body).toBe(200);
      const source = item !== null && ITEMS.some((i) => i.item_id === item) ? 'item' : 'concept';
      expect(r.json()).toMatchObject({ params_source: source, mastery_after: want.masteryAfter[t], p_correct: want.pCorrect[t] });
    }
    const [stored] = await svc.db.query<{ p_known: number; p_unknown: number }>(
      'SELECT p_known, p_unknown FROM public.student_mastery WHERE student_id = $1 AND concept_id = $2',
      [student, concept],
    );
    expect(stored).toEqual({ p_known: want.finalKnown[0], p_unknown: want.finalUnknown[0] });
  });
});
