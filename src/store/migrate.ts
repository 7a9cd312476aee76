/**
 * Applies the plain SQL files in supabase/migrations that a database has not seen yet.
 *
 * Each file runs in its own transaction that first takes a transaction-level advisory lock, so several instances
 * starting at once apply each file exactly once, and the lock works through a transaction pooler (a session-level lock
 * would not). The ledger records each file's SHA-256; a file edited after it was applied is an error, not a silent skip.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SqlDatabase, SqlExecutor } from './sql.js';

/** The repository's migrations folder, found from this file in src/store or dist/store. */
export const MIGRATIONS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../supabase/migrations');

/** An arbitrary constant: the advisory lock key that serialises migrations of this project. */
const LOCK_KEY = 7_265_032_419;

const LEDGER = `
  CREATE SCHEMA IF NOT EXISTS bkt_internal;
  CREATE TABLE IF NOT EXISTS bkt_internal.schema_migrations (
    name       text PRIMARY KEY,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  );`;

export interface MigrationFile {
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

export interface MigrateResult {
  readonly applied: string[];
  readonly alreadyApplied: string[];
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

const FILE_NAME = /^\d{14}_[a-z0-9_]+\.sql$/;

/** The migration files in name (= timestamp) order. */
export function readMigrations(dir: string = MIGRATIONS_DIR): MigrationFile[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((name) => {
      if (!FILE_NAME.test(name)) throw new MigrationError(`${name}: migration files are named <14-digit timestamp>_<name>.sql`);
      const sql = readFileSync(join(dir, name), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

async function lock(tx: SqlExecutor): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
}

/** Applies what is missing; a no-op when everything is applied. Throws MigrationError on an edited applied file. */
export async function migrate(db: SqlDatabase, files: MigrationFile[] = readMigrations()): Promise<MigrateResult> {
  const result: MigrateResult = { applied: [], alreadyApplied: [] };
  for (const file of files) {
    await db.transaction(async (tx) => {
      await lock(tx);
      await tx.exec(LEDGER);
      const rows = await tx.query<{ checksum: string }>(
        'SELECT checksum FROM bkt_internal.schema_migrations WHERE name = $1',
        [file.name],
      );
      if (rows.length > 0) {
        if (rows[0].checksum !== file.checksum) {
          throw new MigrationError(
            `${file.name} was changed after it was applied (checksum ${rows[0].checksum.slice(0, 12)}… in the database, ` +
              `${file.checksum.slice(0, 12)}… on disk); add a new migration instead of editing an applied one`,
          );
        }
        result.alreadyApplied.push(file.name);
        return;
      }
      await tx.exec(file.sql);
      await tx.query('INSERT INTO bkt_internal.schema_migrations (name, checksum) VALUES ($1, $2)', [file.name, file.checksum]);
      result.applied.push(file.name);
    });
  }
  // Checked on every run, not only when the first migration applies: auth.users may have appeared since.
  await db.transaction(async (tx) => {
    await lock(tx);
    const linker = await tx.query<{ ok: boolean }>("SELECT to_regprocedure('bkt_internal.link_auth()') IS NOT NULL AS ok");
    if (linker[0]?.ok) await tx.query('SELECT bkt_internal.link_auth()');
  });
  return result;
}

/** Names of files not yet applied (for /ready and `bkt migrate --status`); never writes. */
export async function pendingMigrations(db: SqlExecutor, files: MigrationFile[] = readMigrations()): Promise<string[]> {
  const exists = await db.query<{ ok: boolean }>("SELECT to_regclass('bkt_internal.schema_migrations') IS NOT NULL AS ok");
  if (!exists[0]?.ok) return files.map((f) => f.name);
  const rows = await db.query<{ name: string; checksum: string }>('SELECT name, checksum FROM bkt_internal.schema_migrations');
  const applied = new Map(rows.map((r) => [r.name, r.checksum]));
  return files.filter((f) => applied.get(f.name) !== f.checksum).map((f) => f.name);
}
