/**
 * The contract of the mastery service, run against both drivers through the real app (inject): PGlite in memory and
 * a scratch database on the PostgreSQL 15 server. Expected numbers come from the story's formula written out here,
 * not from the core, so a wrong core or a lossy store both fail.
 */
import { describe, expect, it } from 'vitest';
import { DRIVERS, newId } from '../support/service.js';
import { serviceForSuite } from '../support/suite-service.js';

/** The story's update: posterior from the answer, then the learning transition. */
function storyUpdate(pL: number, correct: boolean, p = { learn: 0.2, guess: 0.25, slip: 0.1 }): number {
  const post = correct
    ? (pL * (1 - p.slip)) / (pL * (1 - p.slip) + (1 - pL) * p.guess)
    : (pL * p.slip) / (pL * p.slip + (1 - pL) * (1 - p.guess));
  return post + (1 - post) * p.learn;
}

describe.each(DRIVERS)('mastery service on %s', (driver) => {
  const svc = serviceForSuite(driver);

  const update = (body: Record<string, unknown>) => svc.app.inject({ method: 'POST', url: '/api/bkt/update', payload: body });
  const batch = (responses: Record<string, unknown>[]) =>
    svc.app.inject({ method: 'POST', url: '/api/bkt/update/batch', payload: { responses } });
  const history = (student: string, concept: string) =>
    svc.db.query<{ seq: number; mastery_after: number; response_correct: boolean; params_version: number }>(
      'SELECT seq, mastery_after, response_correct, params_version FROM mastery_history WHERE student_id = $1 AND concept_id = $2 ORDER BY seq',
      [student, concept],
    );

  it('a correct and an incorrect first answer give the story formula P(L1), and the state is stored', async () => {
    const [s, c1, c2] = [newId(), newId(), newId()];
    const right = await update({ student_id: s, concept_id: c1, correct: true });
    expect(right.statusCode).toBe(200);
    const r = right.json();
    expect(r.mastery_before).toBe(0.1);
    expect(r.mastery_after).toBeCloseTo(storyUpdate(0.1, true), 15);
    expect(r.p_correct).toBeCloseTo(0.1 * 0.9 + 0.9 * 0.25, 15);
    expect(r.p_correct_next).toBeCloseTo(r.mastery_after * 0.9 + (1 - r.mastery_after) * 0.25, 15);
    expect(r).toMatchObject({ student_id: s, concept_id: c1, n_responses: 1, version: 1, replayed: false, mastered: false });
    const wrong = (await update({ student_id: s, concept_id: c2, correct: false })).json();
    expect(wrong.mastery_after).toBeCloseTo(storyUpdate(0.1, false), 15);
    expect(wrong.mastery_after).toBeLessThan(r.mastery_after);
    const rows = await svc.db.query<{ p_known: number; p_unknown: number; mastery_level: number; version: number; n_correct: number }>(
      'SELECT p_known, p_unknown, mastery_level, version, n_correct FROM student_mastery WHERE student_id = $1 AND concept_id = $2',
      [s, c1],
    );
    expect(rows[0]).toEqual({ p_known: r.mastery_after, p_unknown: rows[0].p_unknown, mastery_level: r.mastery_after, version: 1, n_correct: 1 });
    expect(rows[0].p_known + rows[0].p_unknown).toBeCloseTo(1, 15);
  });

  it('the defaults reach mastery after the number of correct answers the story formula gives', async () => {
    let pL = 0.1;
    let needed = 0;
    while (pL < 0.95) {
      pL = storyUpdate(pL, true);
      needed += 1;
    }
    expect(needed).toBe(4); // 0.4286, 0.7838, 0.9431, 0.9868
    const [s, c] = [newId(), newId()];
    for (let i = 1; i <= needed + 1; i++) {
      const r = (await update({ student_id: s, concept_id: c, correct: true })).json();
      expect(r.mastered).toBe(i >= needed);
      expect(r.newly_mastered).toBe(i === needed);
      expect(r.n_responses).toBe(i);
    }
    const read = (await svc.app.inject({ method: 'GET', url: `/api/bkt/mastery/${s}/${c}` })).json();
    expect(read).toMatchObject({ student_id: s, concept_id: c, mastered: true, n_responses: needed + 1 });
    expect(typeof read.updated_at).toBe('string');
  });

  it('a pair never seen reads as the prior with n_responses 0; parameters from bkt_parameters take over within a second', async () => {
    const [s, c] = [newId(), newId()];
    const before = (await svc.app.inject({ method: 'GET', url: `/api/bkt/mastery/${s}/${c}` })).json();
    expect(before).toEqual({ student_id: s, concept_id: c, level: 0.1, mastered: false, n_responses: 0, updated_at: null });
    const params = { prior: 0.3, learn: 0.1, guess: 0.2, slip: 0.05, forget: 0 };
    expect(await svc.store.upsertParameters(c, params)).toBe(1);
    let level = 0;
    for (let waited = 0; waited < 1000 && level !== 0.3; waited += 25) {
      await new Promise((r) => setTimeout(r, 25));
      level = (await svc.app.inject({ method: 'GET', url: `/api/bkt/mastery/${s}/${c}` })).json().level;
    }
    expect(level).toBe(0.3);
    const r = (await update({ student_id: s, concept_id: c, correct: false })).json();
    expect(r.mastery_after).toBeCloseTo(storyUpdate(0.3, false, params), 15);
    expect((await history(s, c))[0].params_version).toBe(1);
  });

  it("lists a student's concepts in pages", async () => {
    const s = newId();
    const concepts = [newId(), newId(), newId()].sort();
    for (const c of concepts) await update({ student_id: s, concept_id: c, correct: true });
    const first = (await svc.app.inject({ method: 'GET', url: `/api/bkt/mastery/${s}?limit=2` })).json();
    expect(first.concepts.map((x: { concept_id: string }) => x.concept_id)).toEqual(concepts.slice(0, 2));
    expect(first.next_after).toBe(concepts[1]);
    expect(first.concepts[0]).toMatchObject({ n_responses: 1, n_correct: 1, mastered: false });
    const second = (await svc.app.inject({ method: 'GET', url: `/api/bkt/mastery/${s}?limit=2&after=${first.next_after}` })).json();
    expect(second.concepts.map((x: { concept_id: string }) => x.concept_id)).toEqual(concepts.slice(2));
    expect(second.next_after).toBeUndefined();
    const none = (await svc.app.inject({ method: 'GET', url: `/api/bkt/mastery/${newId()}` })).json();
    expect(none.concepts).toEqual([]);
  });

  it('a repeated response_id returns the first result, replayed, and writes nothing; another body under it is 409', async () => {
    const [s, c, id] = [newId(), newId(), newId()];
    const body = { student_id: s, concept_id: c, correct: true, response_id: id, answered_at: '2025-03-01T10:00:00.123456Z' };
    const first = (await update(body)).json();
    await update({ student_id: s, concept_id: c, correct: false });
    const again = await update({ ...body, student_id: s.toUpperCase(), answered_at: '2025-03-01T11:00:00.123456+01:00' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ ...first, replayed: true });
    expect(await history(s, c)).toHaveLength(2);
    const conflict = await update({ ...body, correct: false });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toEqual({ error: { code: 'idempotency_conflict', message: expect.stringContaining(id), field: 'response_id' } });
    const otherTime = await update({ ...body, answered_at: '2025-03-01T10:00:00.123457Z' });
    expect(otherTime.statusCode).toBe(409);
    const unseen = newId();
    const otherPair = await update({ ...body, concept_id: unseen });
    expect(otherPair.statusCode).toBe(409);
    expect(await history(s, c)).toHaveLength(2);
    // Not even the never-seen pair's prior row, which the update inserts before it meets the recorded id.
    const priors = await svc.db.query('SELECT 1 FROM student_mastery WHERE student_id = $1 AND concept_id = $2', [s, unseen]);
    expect(priors).toHaveLength(0);
  });

  it('50 concurrent identical requests give one row and 49 replays', async () => {
    const [s, c, id] = [newId(), newId(), newId()];
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => update({ student_id: s, concept_id: c, correct: true, response_id: id })),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(50).fill(200));
    const bodies = answers.map((a) => a.json());
    expect(bodies.filter((b) => !b.replayed)).toHaveLength(1);
    expect(bodies.filter((b) => b.replayed)).toHaveLength(49);
    expect(new Set(bodies.map((b) => b.mastery_after)).size).toBe(1);
    expect(await history(s, c)).toHaveLength(1);
  });

  it('100 concurrent updates on a never-seen pair give seq 1..100 and the state of replaying them in order', async () => {
    const [s, c] = [newId(), newId()];
    const pattern = Array.from({ length: 100 }, (_, i) => (i * 7) % 3 !== 0);
    const answers = await Promise.all(pattern.map((correct) => update({ student_id: s, concept_id: c, correct })));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(100).fill(200));
    expect(answers.map((a) => a.json().version).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const rows = await history(s, c);
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    let pL = 0.1;
    for (const r of rows) {
      pL = storyUpdate(pL, r.response_correct);
      expect(r.mastery_after).toBeCloseTo(pL, 12);
    }
    const state = await svc.db.query<{ p_known: number; version: number; n_responses: number }>(
      'SELECT p_known, version, n_responses FROM student_mastery WHERE student_id = $1 AND concept_id = $2',
      [s, c],
    );
    expect(state[0]).toEqual({ p_known: rows[99].mastery_after, version: 100, n_responses: 100 });
  });

  it('a batch applies in order and atomically; a conflict anywhere writes nothing', async () => {
    const [s, c1, c2, id] = [newId(), newId(), newId(), newId()];
    const ok = await batch([
      { student_id: s, concept_id: c1, correct: true, response_id: id },
      { student_id: s, concept_id: c2, correct: false },
      { student_id: s, concept_id: c1, correct: true },
      { student_id: s, concept_id: c1, correct: true, response_id: id },
    ]);
    expect(ok.statusCode).toBe(200);
    const results = ok.json().results;
    expect(results.map((r: { version: number }) => r.version)).toEqual([1, 1, 2, 1]);
    expect(results.map((r: { replayed: boolean }) => r.replayed)).toEqual([false, false, false, true]);
    expect(results[2].mastery_after).toBeCloseTo(storyUpdate(storyUpdate(0.1, true), true), 15);
    const bad = await batch([
      { student_id: s, concept_id: c2, correct: true },
      { student_id: s, concept_id: c1, correct: false, response_id: id },
    ]);
    expect(bad.statusCode).toBe(409);
    expect(bad.json().error.field).toBe('responses[1].response_id');
    expect(await history(s, c2)).toHaveLength(1);
    expect(await history(s, c1)).toHaveLength(2);
  });

  it('concurrent batches over the same pairs in opposite orders all commit', async () => {
    const s = newId();
    const concepts = Array.from({ length: 8 }, () => newId());
    const items = (order: string[]) => order.map((c) => ({ student_id: s, concept_id: c, correct: true }));
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => batch(items(i % 2 ? concepts : [...concepts].reverse()))),
    );
    expect(answers.map((a) => a.statusCode)).toEqual(Array(10).fill(200));
    for (const c of concepts) expect((await history(s, c)).map((r) => r.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it('history is append-only for the owner too: UPDATE, DELETE and TRUNCATE are refused', async () => {
    const [s, c] = [newId(), newId()];
    await update({ student_id: s, concept_id: c, correct: true });
    for (const sql of [
      'UPDATE mastery_history SET mastery_after = 1 WHERE student_id = $1',
      'DELETE FROM mastery_history WHERE student_id = $1',
    ]) {
      await expect(svc.db.query(sql, [s])).rejects.toMatchObject({ code: 'BK001' });
    }
    await expect(svc.db.query('TRUNCATE mastery_history')).rejects.toMatchObject({ code: 'BK001' });
    // Setting the erase marker for another student does not open this one's rows.
    await expect(
      svc.db.transaction(async (tx) => {
        await tx.query("SELECT set_config('bkt.erasing_student', $1, true)", [newId()]);
        await tx.query('DELETE FROM mastery_history WHERE student_id = $1', [s]);
      }),
    ).rejects.toMatchObject({ code: 'BK001' });
    expect(await history(s, c)).toHaveLength(1);
  });

  it('erasing a student removes its state and history and nothing else', async () => {
    const [s, other, c] = [newId(), newId(), newId()];
    await batch([
      { student_id: s, concept_id: c, correct: true },
      { student_id: s, concept_id: c, correct: false },
      { student_id: other, concept_id: c, correct: true },
    ]);
    const erased = await svc.app.inject({ method: 'DELETE', url: `/api/bkt/students/${s}` });
    expect(erased.statusCode).toBe(200);
    expect(erased.json()).toEqual({ student_id: s, mastery_rows: 1, history_rows: 2 });
    expect(await history(s, c)).toHaveLength(0);
    expect((await svc.app.inject({ method: 'GET', url: `/api/bkt/mastery/${s}/${c}` })).json().n_responses).toBe(0);
    expect(await history(other, c)).toHaveLength(1);
    const again = (await svc.app.inject({ method: 'DELETE', url: `/api/bkt/students/${s}` })).json();
    expect(again).toEqual({ student_id: s, mastery_rows: 0, history_rows: 0 });
  });
});
