/** Opens the database the settings name: a PostgreSQL server when DATABASE_URL is set, else embedded PGlite. */
import { openPglite } from './pglite-driver.js';
import { openPostgres } from './postgres-driver.js';
import type { SqlDatabase } from './sql.js';

export interface DatabaseSettings {
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly statementTimeoutMs: number;
  readonly lockTimeoutMs: number;
  readonly poolSize: number;
  readonly poolTimeoutMs: number;
}

export async function openDatabase(s: DatabaseSettings, onIdleError?: (err: Error) => void): Promise<SqlDatabase> {
  if (s.databaseUrl !== undefined) {
    return openPostgres({
      connectionString: s.databaseUrl,
      poolSize: s.poolSize,
      poolTimeoutMs: s.poolTimeoutMs,
      statementTimeoutMs: s.statementTimeoutMs,
      lockTimeoutMs: s.lockTimeoutMs,
      ...(onIdleError && { onIdleError }),
    });
  }
  return openPglite(s.dataDir, s);
}
