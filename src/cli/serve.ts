/**
 * `bkt serve`: the mastery service over HTTP, on embedded PGlite by default or a PostgreSQL server (DATABASE_URL).
 * When the server cannot be reached at start the process stays up: a standby app answers /health 200 and /ready
 * 503 while it retries with backoff, and the real app takes the port once the database answers. SIGTERM and SIGINT
 * drain: stop accepting, answer every request already read, close keep-alive sockets, then log "closed" and exit.
 */
import type { Command } from 'commander';
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { loadConfig, settingsHelp, unknownSettings, ConfigError, type Config } from '../config.js';
import type { Runtime } from '../runtime.js';
import { DataDirLockedError } from '../store/lock-file.js';
import { MigrationError } from '../store/migrate.js';

/** Errors are printed as one line; the stack only with BKT_DEBUG=true. */
function fail(e: unknown, debug: boolean): never {
  const known = e instanceof ConfigError || e instanceof DataDirLockedError || e instanceof MigrationError;
  process.stderr.write(`bkt serve: ${known ? (e as Error).message : describe(e)}\n`);
  if (debug && !known && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  process.exit(1);
}

/** A database or system error in one line: its code and message, and the cause's when it wraps one. */
function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: unknown }).code;
  const inner = e.cause instanceof Error && e.cause !== e ? ` (${describe(e.cause)})` : '';
  const parts = e instanceof AggregateError && e.errors.length > 0 ? ` (${describe(e.errors[0])})` : '';
  return `${typeof code === 'string' ? `${code}: ` : ''}${e.message || e.name}${inner}${parts}`.replace(/\s*\n\s*/g, ' ');
}

/** Worth retrying at start: the server is down, starting, refusing connections, or the database not created yet. */
export function isStartRetryable(e: unknown): boolean {
  const seen = new Set<unknown>();
  const walk = (x: unknown): boolean => {
    if (x === null || typeof x !== 'object' || seen.has(x)) return false;
    seen.add(x);
    const code = (x as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE'].includes(code)) return true;
      if (code.startsWith('08') || ['3D000', '57P03', '53300', '57P01', '57P02'].includes(code)) return true;
      if (code === 'unavailable') return true;
    }
    if (x instanceof AggregateError && x.errors.some(walk)) return true;
    const message = (x as { message?: unknown }).message;
    if (typeof message === 'string' && /timeout exceeded when trying to connect|Connection terminated/i.test(message)) return true;
    return walk((x as { cause?: unknown }).cause);
  };
  return walk(e);
}

/** Waits before the attempt after `attempt` failures: 250 ms doubling up to `maxMs`, with a little jitter. */
function backoff(attempt: number, maxMs: number): number {
  return Math.min(maxMs, 250 * 2 ** Math.min(attempt, 16)) * (0.8 + Math.random() * 0.4);
}

/**
 * createRuntime until the database answers. The first failure that is worth retrying puts a standby app on the port;
 * `onStandby` receives it. Other failures are thrown.
 */
async function runtimeWhenReachable(
  config: Config,
  onStandby: (standby: FastifyInstance) => void,
): Promise<{ runtime: Runtime; standby: FastifyInstance | undefined }> {
  const { createRuntime } = await import('../runtime.js');
  let standby: FastifyInstance | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      const runtime = await createRuntime(config);
      return { runtime, standby };
    } catch (e) {
      if (!isStartRetryable(e)) {
        await standby?.close();
        throw e;
      }
      if (standby === undefined) {
        const { buildStandbyApp } = await import('../http/standby.js');
        standby = await buildStandbyApp(config);
        await standby.listen({ port: config.port, host: config.host });
        onStandby(standby);
      }
      const { setStandbyReason } = await import('../http/standby.js');
      setStandbyReason(standby, `the database is not reachable (${describe(e)})`);
      const waitMs = Math.round(backoff(attempt, config.dbRetryMaxMs));
      standby.log.warn({ attempt: attempt + 1, retryInMs: waitMs }, `database not reachable: ${describe(e)}; the service answers /ready 503 and retries`);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the mastery service (HTTP API; embedded PGlite unless DATABASE_URL is set)')
    .option('--no-migrate', 'do not apply pending migrations at start (BKT_MIGRATE=false)')
    .addHelpText('after', `\nSettings (environment variables):\n${settingsHelp()}\n`)
    .action(async (opts: { migrate: boolean }) => {
      const env = opts.migrate ? process.env : { ...process.env, BKT_MIGRATE: 'false' };
      let config: Config;
      try {
        config = loadConfig(env);
      } catch (e) {
        fail(e, false);
      }
      let runtime: Runtime | undefined;
      let standby: FastifyInstance | undefined;
      let stopping = false;
      const warnUnknown = (log: FastifyInstance['log']) => {
        for (const u of unknownSettings(env)) log.warn({ setting: u.name }, `${u.name} is not a setting of bkt serve (did you mean ${u.closest}?); it is ignored`);
      };
      // Signals only: an empty event loop (beforeExit) during a slow start is not a reason to stop.
      closeWithGrace({ delay: config.shutdownTimeoutMs + 5000, skip: ['beforeExit'] }, async ({ signal, err }) => {
        stopping = true;
        const log = runtime?.app.log ?? standby?.log;
        if (err) log?.error({ err }, 'shutting down after an error');
        else log?.info({ signal }, 'shutting down: finishing requests in flight');
        await standby?.close();
        await runtime?.close();
        (log ?? { info: (m: string) => process.stderr.write(`${m}\n`) }).info('closed');
      });
      try {
        const started = await runtimeWhenReachable(config, (s) => {
          standby = s;
          warnUnknown(s.log);
        });
        runtime = started.runtime;
        const log = runtime.app.log;
        if (stopping) return;
        if (started.standby === undefined) warnUnknown(log);
        if (config.serviceTokenDigests.length + config.adminTokenDigests.length === 0) {
          log.warn('no BKT_SERVICE_TOKENS or BKT_ADMIN_TOKENS: authentication is off, so the service listens on loopback only');
        }
        log.info(config.databaseUrl ? 'database: PostgreSQL server (DATABASE_URL)' : `database: embedded PGlite in ${config.dataDir}`);
        if (started.standby) {
          await started.standby.close();
          standby = undefined;
          log.info('database reachable: serving');
        }
        await runtime.app.listen({ port: config.port, host: config.host });
      } catch (e) {
        await standby?.close().catch(() => {});
        await runtime?.close().catch(() => {});
        fail(e, config.debug);
      }
    });
}
