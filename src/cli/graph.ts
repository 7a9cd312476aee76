/**
 * `bkt graph enable|disable|sync|status`: the Neo4j projection's switch, stored in the database for every instance
 * (DATABASE_URL, else the PGlite data in BKT_DATA_DIR). See docs/graph.md.
 */
import type { Command } from 'commander';
import { loadConfig, ConfigError, type Config } from '../config.js';
import { isUnavailable } from '../store/db-errors.js';
import { DataDirLockedError } from '../store/lock-file.js';
import { MigrationError } from '../store/migrate.js';
import { openDatabase } from '../store/open.js';
import { GraphAdminError, assertGraphSchema, queueAllPairs, readGraphStatus, setGraphEnabled, type GraphStatus } from '../store/graph-admin.js';
import type { SqlDatabase } from '../store/sql.js';
import { reportError } from './errors.js';

interface JsonOption {
  json?: boolean;
}

async function withDatabase(command: string, work: (db: SqlDatabase, config: Config) => Promise<void>): Promise<void> {
  let db: SqlDatabase | undefined;
  try {
    const config = loadConfig(process.env);
    db = await openDatabase(config);
    await assertGraphSchema(db);
    await work(db, config);
  } catch (e) {
    const known = e instanceof ConfigError || e instanceof DataDirLockedError || e instanceof MigrationError || e instanceof GraphAdminError;
    if (known) {
      process.stderr.write(`bkt graph ${command}: ${(e as Error).message}\n`);
      process.exitCode = 1;
    } else if (isUnavailable(e)) {
      process.stderr.write(`bkt graph ${command}: the database is unavailable (${e instanceof Error ? e.message : String(e)})\n`);
      process.exitCode = 1;
    } else {
      process.exitCode = reportError(e);
    }
  } finally {
    await db?.close().catch(() => {});
  }
}

function print(json: boolean | undefined, value: Record<string, unknown>, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
}

function statusJson(s: GraphStatus) {
  return {
    enabled: s.settings.enabled,
    changed_at: s.settings.changedAt.toISOString(),
    pending: s.pending,
    oldest_enqueued_at: s.oldestEnqueuedAt?.toISOString() ?? null,
    oldest_pending_seconds: s.oldestAgeSeconds,
    last_error: s.lastError === null ? null : { message: s.lastError.message, at: s.lastError.at.toISOString() },
    relay: s.lease === null || !s.lease.live ? null : { holder: s.lease.holder, lease_expires_at: s.lease.expiresAt.toISOString() },
  };
}

function statusText(s: GraphStatus): string {
  const lines = [
    `projection: ${s.settings.enabled ? 'enabled' : 'disabled'} (since ${s.settings.changedAt.toISOString()})`,
    `pending:    ${s.pending} row(s)${s.pending > 0 ? `, oldest queued ${s.oldestAgeSeconds.toFixed(1)} s ago` : ''}`,
    `relay:      ${s.lease !== null && s.lease.live ? `${s.lease.holder} (lease until ${s.lease.expiresAt.toISOString()})` : 'none holds the lease'}`,
    `last error: ${s.lastError === null ? 'none' : `${s.lastError.message} (at ${s.lastError.at.toISOString()})`}`,
  ];
  return lines.join('\n');
}

/** Queues every pair, with a line on stderr per chunk when stderr is a terminal. */
async function queueAll(db: SqlDatabase, config: Config): Promise<number> {
  const tty = process.stderr.isTTY === true;
  const queued = await queueAllPairs(db, {
    threshold: config.masteryThreshold,
    ...(tty && { onChunk: (n: number) => process.stderr.write(`\rqueued ${n} pairs`) }),
  });
  if (tty) process.stderr.write('\n');
  return queued;
}

export function registerGraph(program: Command): void {
  const graph = program
    .command('graph')
    .description('the Neo4j projection of mastery: turn it on or off for every instance, re-queue every pair, show the lag');

  graph
    .command('enable')
    .description('turn the projection on and queue every answered pair, so that the relay backfills Neo4j')
    .option('--json', 'print the result as JSON')
    .action(async (opts: JsonOption) => {
      await withDatabase('enable', async (db, config) => {
        const { wasEnabled } = await setGraphEnabled(db, true);
        const queued = await queueAll(db, config);
        print(
          opts.json,
          { enabled: true, was_enabled: wasEnabled, queued },
          `graph projection ${wasEnabled ? 'was already enabled' : 'enabled'}; queued ${queued} pair(s) for the relay`,
        );
      });
    });

  graph
    .command('disable')
    .description('turn the projection off: updates stop queueing rows (rows already queued and erasures still go out)')
    .option('--json', 'print the result as JSON')
    .action(async (opts: JsonOption) => {
      await withDatabase('disable', async (db) => {
        const { wasEnabled } = await setGraphEnabled(db, false);
        print(opts.json, { enabled: false, was_enabled: wasEnabled }, `graph projection ${wasEnabled ? 'disabled' : 'was already disabled'}`);
      });
    });

  graph
    .command('sync')
    .description('queue every answered pair again (repair: Neo4j ends equal to student_mastery)')
    .option('--json', 'print the result as JSON')
    .action(async (opts: JsonOption) => {
      await withDatabase('sync', async (db, config) => {
        const queued = await queueAll(db, config);
        print(opts.json, { queued }, `queued ${queued} pair(s) for the relay`);
      });
    });

  graph
    .command('status')
    .description('whether the projection is on, pending rows, the oldest pending age, the relay and the last error')
    .option('--json', 'print the status as JSON')
    .action(async (opts: JsonOption) => {
      await withDatabase('status', async (db) => {
        const s = await readGraphStatus(db);
        print(opts.json, statusJson(s), statusText(s));
      });
    });
}
