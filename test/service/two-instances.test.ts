/**
 * Two service instances (two pools, as two processes would have) on one PostgreSQL 15 database, both answering the
 * first answers of the same never-seen pairs at the same moment. Each instance's in-process pair queue cannot order
 * them, so the database must: the first transaction inserts the pair's row, the other waits on that insert and then
 * must lock the row it could not see when its statement began. Every update must commit, each pair with seq 1 and 2.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MasteryService, ParametersCache } from '../../src/service/index.js';
import { migrate } from '../../src/store/migrate.js';
import { openPostgres } from '../../src/store/postgres-driver.js';
import { SqlStore } from '../../src/store/sql-store.js';
import type { SqlDatabase } from '../../src/store/sql.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/pg.js';

const OPTIONS = { poolSize: 8, poolTimeoutMs: 10_000, statementTimeoutMs: 10_000, lockTimeoutMs: 5_000 };
let scratch: ScratchDatabase;
const dbs: SqlDatabase[] = [];
const services: MasteryService[] = [];
const caches: ParametersCache[] = [];

beforeAll(async () => {
  scratch = await createScratchDatabase('two_instances');
  for (let i = 0; i < 2; i++) {
    const db = openPostgres({ connectionString: scratch.url, ...OPTIONS });
    if (i === 0) await migrate(db);
    const store = new SqlStore(db);
    const parameters = new ParametersCache(store, 60_000);
    await parameters.refresh();
    dbs.push(db);
    caches.push(parameters);
    services.push(new MasteryService({ store, parameters, threshold: 0.95 }));
  }
});

afterAll(async () => {
  for (const db of dbs) await db.close();
  await scratch?.drop();
});

it('first answers of the same new pairs from two instances at once all commit, in seq 1 and 2', async () => {
  const pairs = Array.from({ length: 150 }, () => ({ studentId: randomUUID(), conceptId: randomUUID() }));
  const results = await Promise.all(
    pairs.flatMap((p) => services.map((svc, i) => svc.recordResponse({ ...p, correct: i === 0, responseId: randomUUID() }))),
  );
  expect(results).toHaveLength(300);
  const rows = await dbs[0].query<{ student_id: string; concept_id: string; seqs: number[]; version: number }>(
    `SELECT h.student_id, h.concept_id, array_agg(h.seq ORDER BY h.seq) AS seqs, max(m.version) AS version
     FROM public.mastery_history h JOIN public.student_mastery m USING (student_id, concept_id)
     GROUP BY 1, 2`,
  );
  expect(rows).toHaveLength(150);
  for (const r of rows) {
    expect(r.seqs).toEqual([1, 2]);
    expect(r.version).toBe(2);
  }
});
