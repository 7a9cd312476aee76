/**
 * The transaction interface's commitWith on both drivers: the server driver pipelines the statement with COMMIT
 * (and BEGIN with the first statement), so these check what pipelining must not change — a failed last statement
 * commits nothing of the transaction, a good one commits everything, and nothing runs after it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../src/store/postgres-driver.js';
import type { SqlDatabase } from '../../src/store/sql.js';
import { createScratchDatabase, type ScratchDatabase } from '../support/pg.js';
import { openMemoryPglite } from '../support/pglite-template.js';

const TIMEOUTS = { statementTimeoutMs: 10_000, lockTimeoutMs: 5_000 };

describe.each(['pglite', 'postgres'] as const)('commitWith on %s', (driver) => {
  let scratch: ScratchDatabase | undefined;
  let db: SqlDatabase;

  beforeAll(async () => {
    if (driver === 'postgres') {
      scratch = await createScratchDatabase('commitwith');
      db = openPostgres({ connectionString: scratch.url, poolSize: 2, poolTimeoutMs: 5_000, ...TIMEOUTS });
    } else {
      db = await openMemoryPglite(TIMEOUTS);
    }
    await db.exec('CREATE TABLE t (k int PRIMARY KEY, v int NOT NULL CHECK (v >= 0))');
  });

  afterAll(async () => {
    await db?.close();
    await scratch?.drop();
  });

  const values = async (k: number) => (await db.query<{ v: number }>('SELECT v FROM t WHERE k = $1', [k])).map((r) => r.v);

  it('commits the whole transaction and hands back the last statement\'s rows', async () => {
    const rows = await db.transaction(async (tx) => {
      await tx.query('INSERT INTO t (k, v) VALUES ($1, $2)', [1, 10]);
      return tx.commitWith<{ v: number }>('INSERT INTO t (k, v) VALUES ($1, $2) RETURNING v', [2, 20]);
    });
    expect(rows).toEqual([{ v: 20 }]);
    expect(await values(1)).toEqual([10]);
    expect(await values(2)).toEqual([20]);
  });

  it('a failing last statement commits nothing, not even the statements before it, and its error is thrown', async () => {
    const attempt = db.transaction(async (tx) => {
      await tx.query('INSERT INTO t (k, v) VALUES ($1, $2)', [3, 30]);
      return tx.commitWith('INSERT INTO t (k, v) VALUES ($1, $2)', [4, -1]);
    });
    await expect(attempt).rejects.toMatchObject({ code: '23514' });
    expect(await values(3)).toEqual([]);
    expect(await values(4)).toEqual([]);
    // The connection is clean afterwards: the next transaction works and commits.
    await db.transaction((tx) => tx.commitWith('INSERT INTO t (k, v) VALUES ($1, $2)', [5, 50]));
    expect(await values(5)).toEqual([50]);
  });

  it('refuses a statement after commitWith', async () => {
    const attempt = db.transaction(async (tx) => {
      await tx.commitWith('INSERT INTO t (k, v) VALUES ($1, $2)', [6, 60]);
      await tx.query('INSERT INTO t (k, v) VALUES ($1, $2)', [7, 70]);
    });
    await expect(attempt).rejects.toThrow(/already ended/);
    expect(await values(7)).toEqual([]);
  });

  it('a transaction that throws after its first statement rolls that statement back (BEGIN really went first)', async () => {
    const attempt = db.transaction(async (tx) => {
      await tx.query('INSERT INTO t (k, v) VALUES ($1, $2)', [8, 80]);
      throw new Error('changed my mind');
    });
    await expect(attempt).rejects.toThrow('changed my mind');
    expect(await values(8)).toEqual([]);
  });
});
