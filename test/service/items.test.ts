/**
 * Items in the service: item_id accepted, stored and returned by updates and history reads, with the params_source
 * that computed each answer; bad item ids refused with the field named; the story's created_at on history rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRIVERS, newId, startService, type TestService } from '../support/service.js';

describe.each(DRIVERS)('item_id on %s', (driver) => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService(driver);
  });
  afterAll(async () => {
    await svc?.stop();
  });
  const post = (url: string, payload: unknown) =>
    svc.app.inject({ method: 'POST', url, payload: payload as string, headers: { 'content-type': 'application/json' } });
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
