/**
 * The Supabase case on the PostgreSQL server: a scratch database given what Supabase has (schema auth with a users
 * table and auth.uid(), roles anon and authenticated, and Supabase's default grants of everything in public to both)
 * before migrating. Proves: the foreign key to auth.users, RLS on, nothing for anon, own rows only for authenticated,
 * user deletion erasing the student, and the links added by a later migrate when auth appears afterwards.
 *
 * Roles are cluster-wide, so anon and authenticated are created if absent (NOLOGIN, no privileges outside the scratch
 * databases) and left in place: dropping them could race another run that is migrating at the same moment.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/store/migrate.js';
import { openPostgres } from '../../src/store/postgres-driver.js';
import { createScratchDatabase } from '../support/pg.js';
import { newId, startService, type TestService } from '../support/service.js';

const SUPABASE_LIKE = `
  DO $$ BEGIN CREATE ROLE anon NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
  DO $$ BEGIN CREATE ROLE authenticated NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$;
  CREATE SCHEMA auth;
  CREATE TABLE auth.users (id uuid PRIMARY KEY, email text);
  CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
  GRANT USAGE ON SCHEMA auth TO anon, authenticated;
  GRANT USAGE ON SCHEMA public TO anon, authenticated;
  ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated;
`;

async function run(url: string, sql: string, params: unknown[] = []) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows;
  } finally {
    await c.end();
  }
}

const TABLES = ['student_mastery', 'mastery_history', 'bkt_parameters', 'bkt_item_parameters'];
const PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'];

describe('on a Supabase-like database', () => {
  let svc: TestService;
  const [alice, bob, stranger, concept] = [newId(), newId(), newId(), newId()];
  beforeAll(async () => {
    svc = await startService('postgres', { prepare: (url) => run(url, SUPABASE_LIKE).then(() => undefined) });
    await svc.db.query('INSERT INTO auth.users (id) VALUES ($1), ($2)', [alice, bob]);
    for (const s of [alice, alice, bob]) {
      const r = await svc.app.inject({ method: 'POST', url: '/api/bkt/update', payload: { student_id: s, concept_id: concept, correct: true } });
      expect(r.statusCode).toBe(200);
    }
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('links student_mastery to auth.users with ON DELETE CASCADE, validated', async () => {
    const fk = await svc.db.query<{ def: string; valid: boolean }>(
      `SELECT pg_get_constraintdef(oid) AS def, convalidated AS valid FROM pg_constraint
       WHERE conname = 'student_mastery_student_id_fkey'`,
    );
    expect(fk).toHaveLength(1);
    expect(fk[0].def).toBe('FOREIGN KEY (student_id) REFERENCES auth.users(id) ON DELETE CASCADE');
    expect(fk[0].valid).toBe(true);
  });

  it('has row level security on every table and grants anon nothing', async () => {
    const rls = await svc.db.query<{ relname: string; relrowsecurity: boolean }>(
      `SELECT relname, relrowsecurity FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY relname`,
    );
    expect(rls).toEqual(TABLES.sort().map((relname) => ({ relname, relrowsecurity: true })));
    for (const table of TABLES) {
      for (const privilege of PRIVILEGES) {
        const [row] = await svc.db.query<{ ok: boolean }>('SELECT has_table_privilege($1, $2, $3) AS ok', ['anon', `public.${table}`, privilege]);
        expect({ table, privilege, granted: row.ok }).toEqual({ table, privilege, granted: false });
      }
    }
    // Columns added by later migrations (per-item learn and forget) are covered too: no column privilege either.
    for (const role of ['anon', 'authenticated']) {
      for (const column of ['p_g', 'p_s', 'p_t', 'p_f']) {
        const [row] = await svc.db.query<{ ok: boolean }>("SELECT has_column_privilege($1, 'public.bkt_item_parameters', $2, 'SELECT') AS ok", [role, column]);
        expect({ role, column, granted: row.ok }).toEqual({ role, column, granted: false });
      }
    }
    const internal = await svc.db.query<{ usage: boolean; erase: boolean }>(
      `SELECT has_schema_privilege('anon', 'bkt_internal', 'USAGE') AS usage,
              has_function_privilege('authenticated', 'bkt_internal.erase_student(uuid)', 'EXECUTE') AS erase`,
    );
    expect(internal[0]).toEqual({ usage: false, erase: false });
  });

  it('lets authenticated read only its own rows, and write nothing', async () => {
    const asUser = (sub: string, sql: string) =>
      svc.db.transaction(async (tx) => {
        await tx.query('SET LOCAL ROLE authenticated');
        await tx.query("SELECT set_config('request.jwt.claim.sub', $1, true)", [sub]);
        return tx.query<{ student_id: string }>(sql);
      });
    const own = await asUser(alice, 'SELECT student_id FROM public.student_mastery');
    expect(own.map((r) => r.student_id)).toEqual([alice]);
    const history = await asUser(alice, 'SELECT student_id FROM public.mastery_history');
    expect(history.map((r) => r.student_id)).toEqual([alice, alice]);
    await expect(asUser(alice, 'SELECT * FROM public.bkt_parameters')).rejects.toMatchObject({ code: '42501' });
    await expect(asUser(alice, 'UPDATE public.student_mastery SET n_correct = 0')).rejects.toMatchObject({ code: '42501' });
  });

  it('an update for a student who is not a user is a 400 naming student_id', async () => {
    const r = await svc.app.inject({ method: 'POST', url: '/api/bkt/update', payload: { student_id: stranger, concept_id: concept, correct: true } });
    expect(r.statusCode).toBe(400);
    expect(r.json().error).toMatchObject({ code: 'invalid_input', field: 'student_id' });
  });

  it('deleting a user erases its mastery and history, and nobody else’s', async () => {
    await svc.db.query('DELETE FROM auth.users WHERE id = $1', [alice]);
    const left = await svc.db.query<{ student_id: string }>(
      'SELECT student_id FROM student_mastery UNION ALL SELECT student_id FROM mastery_history',
    );
    expect(left.map((r) => r.student_id)).toEqual([bob, bob]);
  });
});

describe('a database that gains auth.users after it was migrated', () => {
  it('is linked by the next migrate', async () => {
    const scratch = await createScratchDatabase('supa_late');
    const db = openPostgres({ connectionString: scratch.url, poolSize: 2, poolTimeoutMs: 5000, statementTimeoutMs: 10_000, lockTimeoutMs: 5000 });
    try {
      await migrate(db);
      const fk = "SELECT count(*)::int AS n FROM pg_constraint WHERE conname = 'student_mastery_student_id_fkey'";
      expect((await db.query<{ n: number }>(fk))[0].n).toBe(0);
      await db.exec(SUPABASE_LIKE);
      const second = await migrate(db);
      expect(second.applied).toEqual([]);
      expect((await db.query<{ n: number }>(fk))[0].n).toBe(1);
      const trigger = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_trigger WHERE tgname = 'bkt_erase_on_user_delete'");
      expect(trigger[0].n).toBe(1);
      await migrate(db);
      expect((await db.query<{ n: number }>(fk))[0].n).toBe(1);
    } finally {
      await db.close();
      await scratch.drop();
    }
  });
});
