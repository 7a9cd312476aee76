/** The embedded driver: PGlite (PostgreSQL compiled to WebAssembly), one connection, data in a local directory. */
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { resolve } from 'node:path';
import { acquireLockFile } from './lock-file.js';
import {
  copyStatement,
  setLocalScript,
  type SqlDatabase,
  type SqlExecutor,
  type SqlValue,
  type TimeoutSettings,
  transactionExecutor,
  type TransactionExecutor,
} from './sql.js';

export const MEMORY = 'memory://';

function executor(db: PGlite | Transaction): SqlExecutor {
  return {
    async query<R extends object>(text: string, params: readonly SqlValue[] = []): Promise<R[]> {
      const r = await db.query<R>(text, params as unknown[]);
      return r.rows;
    },
    async exec(script: string): Promise<void> {
      await db.exec(script);
    },
    async copyIn(table: string, columns: readonly string[], data: Uint8Array): Promise<number> {
      const r = await db.query(copyStatement(table, columns, "'/dev/blob'"), [], { blob: new Blob([data]) });
      return r.affectedRows ?? 0;
    },
  };
}

export interface PgliteOpenOptions {
  /**
   * A data directory dumped by PGlite's dumpDataDir() to start a new database from, instead of running initdb (tests
   * start many empty databases from one dump).
   */
  readonly loadDataDir?: Blob;
}

/** Opens PGlite at `dataDir` (or in memory for `memory://`), holding a lock file so that no second process opens it. */
export async function openPglite(dataDir: string, timeouts: TimeoutSettings, options: PgliteOpenOptions = {}): Promise<SqlDatabase> {
  const inMemory = dataDir === MEMORY;
  const path = inMemory ? dataDir : resolve(dataDir);
  const release = inMemory ? () => {} : acquireLockFile(`${path}.lock`);
  let db: PGlite;
  try {
    db = await PGlite.create(path, options.loadDataDir === undefined ? {} : { loadDataDir: options.loadDataDir });
  } catch (e) {
    release();
    throw e;
  }
  const base = executor(db);
  // PGlite's own transaction() issues BEGIN; the timeouts are set locally as its first statement.
  const setLocal = setLocalScript(timeouts);
  return {
    kind: 'pglite',
    query: base.query,
    exec: base.exec,
    copyIn: base.copyIn,
    transaction<T>(fn: (tx: TransactionExecutor) => Promise<T>): Promise<T> {
      return db.transaction(async (tx) => {
        await tx.exec(setLocal);
        const inner = executor(tx);
        // One connection and no network: commitWith runs its statement, and PGlite commits when `fn` returns.
        return fn(transactionExecutor(inner, (text, params) => inner.query(text, params)).tx);
      });
    },
    poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
    async close(): Promise<void> {
      try {
        await db.close();
      } finally {
        release();
      }
    },
  };
}
