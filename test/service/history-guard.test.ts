/**
 * The database guards history by itself, on PostgreSQL 15: a role that is not the owner but holds every privilege on
 * the public tables and BYPASSRLS cannot UPDATE, DELETE or TRUNCATE mastery_history, whatever session variable it
 * sets (every one the migrations have ever read, set to the student or to anything else), nor write the erasure
 * marker table; erase_student, run by the service, still removes the student's state and history. Also on PGlite,
 * the trigger refuses the old session-variable bypass.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId, startService, type TestService } from '../support/service.js';

/** Every session variable the migrations read (and the old erase marker, which no longer opens anything). */
const SESSION_VARIABLES = ['bkt.erasing_student'];

describe('history guard on postgres', () => {
  let svc: TestService;
  let forger: pg.Client;
  const role = `bkt_forger_${randomBytes(4).toString('hex')}`;
  beforeAll(async () => {
    svc = await startService('postgres');
    await svc.db.query(`CREATE ROLE ${role} LOGIN BYPASSRLS`);
    await svc.db.query(`GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA public TO ${role}`);
    await svc.db.query(`GRANT USAGE ON SCHEMA bkt_internal TO ${role}`);
    const url = new URL(svc.url!);
    url.username = role;
    forger = new pg.Client({ connectionString: url.toString() });
    await forger.connect();
  });
  afterAll(async () => {
    await forger?.end();
    if (svc) {
      await svc.db.query(`DROP OWNED BY ${role}`).catch(() => {});
      await svc.stop();
      const admin = new pg.Client({ connectionString: (() => { const u = new URL(svc.url!); u.pathname = '/postgres'; return u.toString(); })() });
      await admin.connect();
      await admin.query(`DROP OWNED BY ${role}`).catch(() => {});
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  });

  const answer = async (student: string) => {
    const r = await svc.app.inject({ method: 'POST', url: '/api/bkt/update', payload: { student_id: student, concept_id: newId(), correct: true } });
    expect(r.statusCode).toBe(200);
  };
  const historyRows = async (student: string) =>
    Number((await svc.db.query<{ n: string }>('SELECT count(*)::text AS n FROM mastery_history WHERE student_id = $1', [student]))[0].n);

  it('refuses UPDATE, DELETE and TRUNCATE of history to a privileged non-owner, with any session variable set', async () => {
    const student = newId();
    await answer(student);
    // The role really holds the privileges: it can read and write state.
    expect((await forger.query('SELECT count(*) FROM mastery_history WHERE student_id = $1', [student])).rows[0].count).toBe('1');
    for (const value of [student, '', 'on', newId()]) {
      for (const statement of [
        'DELETE FROM mastery_history WHERE student_id = $1',
        'UPDATE mastery_history SET mastery_after = 1 WHERE student_id = $1',
        'TRUNCATE mastery_history',
      ]) {
        await forger.query('BEGIN');
        for (const name of SESSION_VARIABLES) await forger.query('SELECT set_config($1, $2, true)', [name, value]);
        const params = statement.includes('$1') ? [student] : [];
        await expect(forger.query(statement, params), `${statement} with ${value}`).rejects.toMatchObject({ code: 'BK001' });
        await forger.query('ROLLBACK');
      }
    }
    // Nor can it forge the erasure marker, or call the erase functions.
    await expect(forger.query('INSERT INTO bkt_internal.history_erasures VALUES (txid_current(), $1)', [student])).rejects.toMatchObject({ code: '42501' });
    await expect(forger.query('SELECT * FROM bkt_internal.erase_student($1)', [student])).rejects.toMatchObject({ code: '42501' });
    expect(await historyRows(student)).toBe(1);
  });

  it('erase_student still removes state and history', async () => {
    const student = newId();
    await answer(student);
    await answer(student);
    const r = await svc.app.inject({ method: 'DELETE', url: `/api/bkt/students/${student}` });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ mastery_rows: 2, history_rows: 2 });
    expect(await historyRows(student)).toBe(0);
    // The marker does not outlive the erase.
    expect((await svc.db.query('SELECT * FROM bkt_internal.history_erasures')).length).toBe(0);
  });
});

describe('history guard on pglite', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService('pglite');
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('the session variable opens nothing, and erase works', async () => {
    const student = newId();
    await svc.app.inject({ method: 'POST', url: '/api/bkt/update', payload: { student_id: student, concept_id: newId(), correct: true } });
    await expect(
      svc.db.transaction(async (tx) => {
        await tx.query("SELECT set_config('bkt.erasing_student', $1, true)", [student]);
        await tx.query('DELETE FROM mastery_history WHERE student_id = $1', [student]);
      }),
    ).rejects.toMatchObject({ code: 'BK001' });
    const r = await svc.app.inject({ method: 'DELETE', url: `/api/bkt/students/${student}` });
    expect(r.json()).toMatchObject({ mastery_rows: 1, history_rows: 1 });
  });
});
