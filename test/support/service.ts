/**
 * The real service for tests: createRuntime() on PGlite in memory or on a scratch database of the PostgreSQL 15
 * server, driven through inject(). Each call gets a fresh, migrated database (PGlite's starts from an empty data
 * directory made once, pglite-template.ts).
 */
import { v5 as uuidv5 } from 'uuid';
import { loadConfig, type Config } from '../../src/config.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../src/runtime.js';
import { MEMORY } from '../../src/store/pglite-driver.js';
import { openPostgres } from '../../src/store/postgres-driver.js';
import type { SqlDatabase } from '../../src/store/sql.js';
import type { Fitter } from '../../src/service/index.js';
import { createScratchDatabase, type ScratchDatabase } from './pg.js';
import { openMemoryPglite } from './pglite-template.js';

export type Driver = 'pglite' | 'postgres';
export const DRIVERS: Driver[] = ['pglite', 'postgres'];

export interface TestService extends Runtime {
  readonly config: Config;
  /** The scratch database's URL (postgres only). */
  readonly url?: string;
  /** Closes the runtime and drops the scratch database. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Settings on top of the test defaults (silent logs, memory PGlite, fast parameter polling). */
  readonly env?: Record<string, string>;
  /** Opens the server database another way (for example through a proxy). */
  readonly openDb?: (url: string, config: Config) => SqlDatabase;
  readonly logStream?: NodeJS.WritableStream;
  /** Runs on the fresh scratch database before it is migrated (postgres only). */
  readonly prepare?: (url: string) => Promise<void>;
  /** Replaces the fit jobs' EM (to hold a job running, or fail it). */
  readonly fitter?: Fitter;
  /** Graph settings for the runtime (NEO4J_* env, a replacement writer, shorter relay timings, the flag's clock). */
  readonly graph?: Pick<RuntimeOptions, 'graphEnv' | 'graphWriter' | 'relayTuning' | 'graphFlagClock'>;
}

export async function startService(driver: Driver, options: StartOptions = {}): Promise<TestService> {
  const { env = {}, openDb, logStream, prepare, graph, fitter } = options;
  // Waits are generous failure bounds, so that a loaded machine queues rather than answers 503; tests of the
  // timeouts themselves set them in `env`.
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    BKT_PARAMS_REFRESH_MS: '50',
    BKT_DATA_DIR: MEMORY,
    BKT_LOCK_TIMEOUT_MS: '30000',
    BKT_POOL_TIMEOUT_MS: '30000',
    BKT_STATEMENT_TIMEOUT_MS: '60000',
    ...env,
  });
  let scratch: ScratchDatabase | undefined;
  let db: SqlDatabase;
  if (driver === 'pglite') {
    db = await openMemoryPglite(config);
  } else {
    scratch = await createScratchDatabase('svc');
    await prepare?.(scratch.url);
    db = openDb
      ? openDb(scratch.url, config)
      : openPostgres({ ...config, connectionString: scratch.url });
  }
  const runtime = await createRuntime(config, { db, ...(logStream && { logStream }), ...graph, ...(fitter && { fitter }) });
  return {
    ...runtime,
    config,
    ...(scratch && { url: scratch.url }),
    async stop() {
      await runtime.close();
      await db.close();
      await scratch?.drop();
    },
  };
}

/** A fixed namespace for the ids derived from the shared data sets (UUIDv5 of the original id). */
export const TEST_NAMESPACE = '6f1c3b9e-8a52-4c1e-9a0e-2b7d5f4e1c30';

export function idFor(kind: 'student' | 'concept' | 'response', name: string): string {
  return uuidv5(`${kind}:${name}`, TEST_NAMESPACE);
}

let counter = 0;
/** A fresh random-looking but deterministic id per call (unique within a test run). */
export function newId(label = 'x'): string {
  counter += 1;
  return uuidv5(`${label}:${process.pid}:${counter}:${Date.now()}`, TEST_NAMESPACE);
}
