/**
 * A batch's write statement must reach its pairs through the index, whatever the table's size: with
 * jsonb_to_recordset estimated at 100 rows, PostgreSQL used to hash-join it to a sequential scan of all of
 * student_mastery, one full scan per write (3 ms at 18k pairs and growing; single answers used this statement then,
 * they go through bkt_internal.write_response now). Checked on the plan, not on time.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { migrate } from '../../src/store/migrate.js';
import { openPostgres } from '../../src/store/postgres-driver.js';
import { writeSql } from '../../src/store/sql-store.js';
import type { SqlDatabase } from '../../src/store/sql.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/pg.js';

let scratch: ScratchDatabase;
let db: SqlDatabase;

beforeAll(async () => {
  scratch = await createScratchDatabase('plans');
  db = openPostgres({ connectionString: scratch.url, poolSize: 2, poolTimeoutMs: 5_000, statementTimeoutMs: 30_000, lockTimeoutMs: 5_000 });
  await migrate(db);
  // 20,000 pairs, never analysed (as on a young deployment before autovacuum has run).
  await db.query(
    `INSERT INTO public.student_mastery (student_id, concept_id, p_known, p_unknown, params_version)
     SELECT gen_random_uuid(), gen_random_uuid(), 0.1, 0.9, 0 FROM generate_series(1, 20000)`,
  );
});

afterAll(async () => {
  await db?.close();
  await scratch?.drop();
});

function nodes(plan: Record<string, unknown>): Record<string, unknown>[] {
  const children = (plan.Plans as Record<string, unknown>[] | undefined) ?? [];
  return [plan, ...children.flatMap(nodes)];
}

it('a batch updates its pairs through an index, not a scan of student_mastery', async () => {
  const two = await db.query<{ student_id: string; concept_id: string }>('SELECT student_id, concept_id FROM public.student_mastery LIMIT 2');
  const pairs = JSON.stringify(two.map((pair) => ({ ...pair, p_known: 0.3, p_unknown: 0.7, version: 1, n_responses: 1, n_correct: 1, params_version: 0 })));
  const history = JSON.stringify(two.map((pair) => ({
    ...pair, seq: 1, mastery_before: 0.1, mastery_after: 0.3, p_unknown_after: 0.7, p_correct: 0.3, response_correct: true,
    response_id: randomUUID(), params_version: 0,
  })));
  const plan = await db.transaction(async (tx) => {
    const rows = await tx.query<{ 'QUERY PLAN': [{ Plan: Record<string, unknown> }] }>(`EXPLAIN (FORMAT JSON) ${writeSql(2)}`, [pairs, history]);
    return rows[0]['QUERY PLAN'][0].Plan;
  });
  const scans = nodes(plan).filter((n) => n['Relation Name'] === 'student_mastery');
  expect(scans.length).toBeGreaterThan(0);
  for (const n of scans) expect(n['Node Type']).not.toBe('Seq Scan');
});
