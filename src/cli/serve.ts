/** `bkt serve`: the mastery service over HTTP, on embedded PGlite by default or a PostgreSQL server (DATABASE_URL). */
import type { Command } from 'commander';
import closeWithGrace from 'close-with-grace';
import { loadConfig, settingsHelp, ConfigError } from '../config.js';
import { GraphConfigError } from '../graph/config.js';
import { DataDirLockedError } from '../store/lock-file.js';
import { MigrationError } from '../store/migrate.js';

/** Errors a user can act on are printed as one line; anything else keeps its stack for the operator. */
function fail(e: unknown): never {
  if (e instanceof ConfigError || e instanceof DataDirLockedError || e instanceof MigrationError || e instanceof GraphConfigError) {
    process.stderr.write(`bkt serve: ${e.message}\n`);
  } else {
    process.stderr.write(`bkt serve: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  }
  process.exit(1);
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the mastery service (HTTP API; embedded PGlite unless DATABASE_URL is set)')
    .option('--no-migrate', 'do not apply pending migrations at start (BKT_MIGRATE=false)')
    .addHelpText('after', `\nSettings (environment variables):\n${settingsHelp()}\n`)
    .action(async (opts: { migrate: boolean }) => {
      let runtime;
      try {
        const env = opts.migrate ? process.env : { ...process.env, BKT_MIGRATE: 'false' };
        const config = loadConfig(env);
        // Loaded here, not at the top: the HTTP stack is heavy, and other commands must start fast.
        const { createRuntime } = await import('../runtime.js');
        runtime = await createRuntime(config, { graphEnv: process.env });
        const log = runtime.app.log;
        if (config.serviceTokenDigests.length + config.adminTokenDigests.length === 0) {
          log.warn('no BKT_SERVICE_TOKENS or BKT_ADMIN_TOKENS: authentication is off, so the service listens on loopback only');
        }
        log.info(config.databaseUrl ? 'database: PostgreSQL server (DATABASE_URL)' : `database: embedded PGlite in ${config.dataDir}`);
        const rt = runtime;
        closeWithGrace({ delay: config.requestTimeoutMs }, async ({ signal, err }) => {
          if (err) log.error({ err }, 'shutting down after an error');
          else log.info({ signal }, 'shutting down: finishing requests in flight');
          await rt.close();
        });
        await runtime.app.listen({ port: config.port, host: config.host });
      } catch (e) {
        await runtime?.close().catch(() => {});
        fail(e);
      }
    });
}
