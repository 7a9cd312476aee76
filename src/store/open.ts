/**
 * Opens the database the settings name: a PostgreSQL server when DATABASE_URL is set, else embedded PGlite.
 * Each driver is loaded only when chosen, so commands that never open a database (and the one driver not used)
 * cost nothing at start-up.
 */
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
    const { openPostgres } = await import('./postgres-driver.js');
    return openPostgres({
      connectionString: s.databaseUrl,
      poolSize: s.poolSize,
      poolTimeoutMs: s.poolTimeoutMs,
      statementTimeoutMs: s.statementTimeoutMs,
      lockTimeoutMs: s.lockTimeoutMs,
      ...(onIdleError && { onIdleError }),
    });
  }
  const { openPglite } = await import('./pglite-driver.js');
  return openPglite(s.dataDir, s);
}
