/** Migrations on both drivers: applied once, a no-op the second time, an edited applied file refused. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, pendingMigrations, readMigrations, MigrationError } from '../../src/store/migrate.js';
import { openPostgres } from '../../src/store/postgres-driver.js';
import type { SqlDatabase } from '../../src/store/sql.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/pg.js';
import { openMemoryPglite } from '../support/pglite-template.js';

const timeouts = { statementTimeoutMs: 10_000, lockTimeoutMs: 5_000 };
let scratch: ScratchDatabase;

beforeAll(async () => {
  scratch = await createScratchDatabase('migrate');
});
afterAll(async () => {
  await scratch?.drop();
});

const drivers: Array<[string, () => Promise<SqlDatabase>]> = [
  ['pglite', () => openMemoryPglite(timeouts)],
  ['postgres', async () => openPostgres({ connectionString: scratch.url, poolSize: 4, poolTimeoutMs: 5_000, ...timeouts })],
];

describe.each(drivers)('migrate on %s', (_name, open) => {
  it('applies every file once, then is a no-op, and refuses an edited file', async () => {
    const db = await open();
    try {
      const files = readMigrations();
      expect(files.length).toBeGreaterThan(0);
      expect(await pendingMigrations(db)).toEqual(files.map((f) => f.name));
      const first = await migrate(db);
      expect(first.applied).toEqual(files.map((f) => f.name));
      expect(await pendingMigrations(db)).toEqual([]);
      const second = await migrate(db);
      expect(second.applied).toEqual([]);
      expect(second.alreadyApplied).toEqual(files.map((f) => f.name));
      const edited = files.map((f, i) => (i === 0 ? { ...f, sql: `${f.sql}\n-- edited`, checksum: 'f'.repeat(64) } : f));
      await expect(migrate(db, edited)).rejects.toBeInstanceOf(MigrationError);
      await expect(migrate(db, edited)).rejects.toThrow(/changed after it was applied/);
      const tables = await db.query<{ t: string }>(
        "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' AND rowsecurity ORDER BY 1",
      );
      expect(tables.map((r) => r.t)).toEqual(['bkt_item_parameters', 'bkt_parameters', 'mastery_history', 'student_mastery']);
      // The story's contract: mastery_history.created_at, and its two indexes on it.
      const columns = await db.query<{ c: string }>(
        "SELECT column_name AS c FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'mastery_history'",
      );
      expect(columns.map((r) => r.c)).toEqual(expect.arrayContaining(['created_at', 'answered_at']));
      expect(columns.map((r) => r.c)).not.toContain('recorded_at');
      const indexes = await db.query<{ name: string; def: string }>(
        "SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'mastery_history'",
      );
      const byName = new Map(indexes.map((r) => [r.name, r.def]));
      expect(byName.get('idx_mastery_history_student')).toMatch(/\(student_id, created_at DESC\)/);
      expect(byName.get('idx_mastery_history_concept')).toMatch(/\(student_id, concept_id, created_at DESC\)/);
    } finally {
      await db.close();
    }
  });
});

describe('migrate on postgres, concurrently', () => {
  it('four instances migrating at once apply each file exactly once', async () => {
    const fresh = await createScratchDatabase('migrate_conc');
    const dbs = Array.from({ length: 4 }, () =>
      openPostgres({ connectionString: fresh.url, poolSize: 2, poolTimeoutMs: 10_000, ...timeouts }),
    );
    try {
      const results = await Promise.all(dbs.map((db) => migrate(db)));
      const appliedCount = results.reduce((n, r) => n + r.applied.length, 0);
      expect(appliedCount).toBe(readMigrations().length);
      const ledger = await dbs[0].query<{ n: number }>('SELECT count(*)::int AS n FROM bkt_internal.schema_migrations');
      expect(ledger[0].n).toBe(readMigrations().length);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
      await fresh.drop();
    }
  });
});
