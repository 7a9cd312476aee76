/**
 * The composition root: opens the database the settings name, migrates, and wires store -> service -> app.
 * `bkt serve` and the tests build the service through this one function.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { buildApp } from './http/app.js';
import { MasteryService, ParametersCache } from './service/index.js';
import { migrate } from './store/migrate.js';
import { openDatabase } from './store/open.js';
import { SqlStore } from './store/sql-store.js';
import type { SqlDatabase } from './store/sql.js';

export interface Runtime {
  readonly app: FastifyInstance;
  readonly db: SqlDatabase;
  readonly store: SqlStore;
  readonly service: MasteryService;
  readonly parameters: ParametersCache;
  /** Stops the app, the parameter poll and (if opened here) the database. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** A database opened by the caller (tests); it is left open on close. */
  readonly db?: SqlDatabase;
  /** Where log lines go (default stdout). */
  readonly logStream?: NodeJS.WritableStream;
}

export async function createRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  let app: FastifyInstance | undefined;
  const db =
    options.db ??
    (await openDatabase(config, (err) => app?.log.warn({ err }, 'idle database connection failed; the pool replaces it')));
  const ownsDb = options.db === undefined;
  try {
    if (config.migrateOnStart) await migrate(db);
    const store = new SqlStore(db);
    const parameters = new ParametersCache(store, config.paramsRefreshMs, (err) =>
      app?.log.warn({ err }, 'parameter refresh failed; keeping the cached parameters'),
    );
    await parameters.start();
    const service = new MasteryService({ store, parameters, threshold: config.masteryThreshold, pairWaitMs: config.lockTimeoutMs });
    app = await buildApp({ config, service, readiness: () => store.readiness(), poolStats: () => db.poolStats(), ...(options.logStream && { logStream: options.logStream }) });
    const built = app;
    return {
      app: built,
      db,
      store,
      service,
      parameters,
      async close() {
        parameters.stop();
        await built.close();
        if (ownsDb) await db.close();
      },
    };
  } catch (e) {
    if (ownsDb) await db.close();
    throw e;
  }
}
