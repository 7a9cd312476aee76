/** `bkt migrate`: applies the SQL files in supabase/migrations that the database has not seen. */
import type { Command } from 'commander';
import { loadConfig, ConfigError } from '../config.js';
import { DataDirLockedError } from '../store/lock-file.js';
import { migrate, pendingMigrations, MigrationError } from '../store/migrate.js';
import { openDatabase } from '../store/open.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations (DATABASE_URL, else the PGlite data in BKT_DATA_DIR)')
    .option('--status', 'list pending migrations without applying them')
    .action(async (opts: { status?: boolean }) => {
      let db;
      try {
        const config = loadConfig(process.env);
        db = await openDatabase(config);
        if (opts.status) {
          const pending = await pendingMigrations(db);
          process.stdout.write(pending.length === 0 ? 'up to date\n' : `pending:\n${pending.map((p) => `  ${p}\n`).join('')}`);
          if (pending.length > 0) process.exitCode = 1;
        } else {
          const r = await migrate(db);
          for (const name of r.applied) process.stdout.write(`applied ${name}\n`);
          process.stdout.write(r.applied.length === 0 ? 'up to date\n' : `${r.applied.length} migration(s) applied\n`);
        }
      } catch (e) {
        const known = e instanceof ConfigError || e instanceof DataDirLockedError || e instanceof MigrationError;
        process.stderr.write(`bkt migrate: ${known ? (e as Error).message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        process.exitCode = 1;
      } finally {
        await db?.close();
      }
    });
}
