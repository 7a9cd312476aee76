/**
 * The composition root: opens the database the settings name, migrates, and wires store -> service -> app.
 * `bkt serve` and the tests build the service through this one function.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import { wireGraph, type GraphWiring, type RelayTuning } from './graph-wiring.js';
import type { GraphWriter } from './service/graph-port.js';
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
  /** The graph projection: outbox hook, and the relay on instances with NEO4J_URI. */
  readonly graph: GraphWiring;
  /** Stops the app, the parameter poll and (if opened here) the database. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** A database opened by the caller (tests); it is left open on close. */
  readonly db?: SqlDatabase;
  /** Where log lines go (default stdout). */
  readonly logStream?: NodeJS.WritableStream;
  /** NEO4J_* settings (`bkt serve` passes the environment); without NEO4J_URI this instance queues but does not relay. */
  readonly graphEnv?: Readonly<Record<string, string | undefined>>;
  /** Replaces the Neo4j writer (tests, benchmarks). */
  readonly graphWriter?: GraphWriter;
  readonly relayTuning?: RelayTuning;
}

export async function createRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  let app: FastifyInstance | undefined;
  const db =
    options.db ??
    (await openDatabase(config, (err) => app?.log.warn({ err }, 'idle database connection failed; the pool replaces it')));
  const ownsDb = options.db === undefined;
  let graph: GraphWiring | undefined;
  try {
    if (config.migrateOnStart) await migrate(db);
    const store = new SqlStore(db);
    const parameters = new ParametersCache(store, config.paramsRefreshMs, (err) =>
      app?.log.warn({ err }, 'parameter refresh failed; keeping the cached parameters'),
    );
    await parameters.start();
    graph = await wireGraph({
      db,
      store,
      threshold: config.masteryThreshold,
      env: options.graphEnv ?? {},
      logger: () => app?.log,
      ...(options.graphWriter && { writer: options.graphWriter }),
      ...(options.relayTuning && { relay: options.relayTuning }),
    });
    const service = new MasteryService({ store: graph.wrap(store), parameters, threshold: config.masteryThreshold, pairWaitMs: config.lockTimeoutMs });
    app = await buildApp({ config, service, readiness: () => store.readiness(), poolStats: () => db.poolStats(), ...(options.logStream && { logStream: options.logStream }), ...(graph.projection && { graph: { projection: graph.projection, inReady: graph.relay !== undefined } }) });
    const built = app;
    const wired = graph;
    wired.start();
    return {
      app: built,
      db,
      store,
      service,
      parameters,
      graph: wired,
      async close() {
        parameters.stop();
        await built.close();
        await wired.close();
        if (ownsDb) await db.close();
      },
    };
  } catch (e) {
    await graph?.close();
    if (ownsDb) await db.close();
    throw e;
  }
}
