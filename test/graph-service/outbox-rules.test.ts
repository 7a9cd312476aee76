/**
 * The outbox's rules, on PGlite and on the PostgreSQL 15 server: every row the relay could send is well formed, whoever
 * writes it. Three single-column rules live in domains (migration 20261127500000, kept per connection instead of being
 * read and planned again for every statement) and the cross-column rule in a table CHECK. Proves that each rule still
 * refuses what it refused as a table CHECK (SQLSTATE 23514, naming the rule), that well-formed rows of both kinds pass,
 * and that the driver still reads the columns as their base types (a number, not a string, for the level).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setGraphEnabled } from '../../src/store/graph-admin.js';
import { newId, startService, type TestService } from '../support/service.js';

const NIL = '00000000-0000-0000-0000-000000000000';

describe.each(['pglite', 'postgres'] as const)('outbox rules (%s)', (driver) => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService(driver);
    await setGraphEnabled(svc.db, true);
  });
  afterAll(async () => svc?.stop());

  const insert = (row: { kind: string; concept?: string; level: number | null; mastered: boolean | null; version: number; at: boolean }) =>
    svc.db.query(
      `INSERT INTO bkt_internal.graph_outbox (kind, student_id, concept_id, level, mastered, version, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $7::boolean THEN now() END)`,
      [row.kind, newId(), row.concept ?? newId(), row.level, row.mastered, row.version, row.at],
    );
  const good = { kind: 'mastery', level: 0.5, mastered: false, version: 1, at: true };

  it.each([
    ['an unknown kind', { ...good, kind: 'edge' }, 'graph_outbox_kind_rule'],
    ['a level above 1', { ...good, level: 1.0000001 }, 'probability_rule'],
    ['a level below 0', { ...good, level: -0.1 }, 'probability_rule'],
    ['a version of 0', { ...good, version: 0 }, 'graph_version_rule'],
    ['a mastery row without its level', { ...good, level: null }, 'graph_outbox_shape'],
    ['a mastery row without updated_at', { ...good, at: false }, 'graph_outbox_shape'],
    ['a removal row with a concept', { kind: 'removal', level: null, mastered: null, version: 1, at: false }, 'graph_outbox_shape'],
    ['a removal row with a level', { kind: 'removal', concept: NIL, level: 0.5, mastered: null, version: 1, at: false }, 'graph_outbox_shape'],
  ])('refuses %s', async (_what, row, rule) => {
    await expect(insert(row)).rejects.toMatchObject({ code: '23514', message: expect.stringContaining(rule) });
  });

  it('takes well-formed rows of both kinds, and the service queues its levels as numbers', async () => {
    await insert(good);
    await insert({ kind: 'removal', concept: NIL, level: null, mastered: null, version: 2, at: false });
    const student = newId();
    const concept = newId();
    await svc.service.recordResponse({ studentId: student, conceptId: concept, correct: true });
    const [row] = await svc.db.query<{ kind: string; level: unknown }>(
      'SELECT kind, level FROM bkt_internal.graph_outbox WHERE student_id = $1 AND concept_id = $2',
      [student, concept],
    );
    expect(row.kind).toBe('mastery');
    expect(typeof row.level).toBe('number');
    expect(row.level).toBeGreaterThan(0);
    const [sent] = (await svc.graph.outbox.readPending(1_000)).filter((r) => r.student_id === student);
    expect(sent).toMatchObject({ kind: 'mastery', concept_id: concept, level: row.level });
  });
});
