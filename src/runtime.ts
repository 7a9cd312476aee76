/**
 * The composition root: opens the database the settings name, migrates, and wires store -> service -> app.
 * `bkt serve` and the tests build the service through this one function.
 */
import type { FastifyInstance } from 'fastify';
import { loadGraphConfig, type Config } from './config.js';
import { wireGraph, type GraphWiring, type RelayTuning } from './graph-wiring.js';
import type { GraphWriter } from './service/graph-port.js';
import { buildApp, connectionsOf } from './http/app.js';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { fitDatasetParallel } from './fitting/parallel.js';
import { AdminService, FitJobService, MasteryService, ParametersCache, ReportService, type Fitter } from './service/index.js';
import { SqlAdminStore } from './store/admin-store.js';
import { SqlFitJobStore } from './store/fit-store.js';
import { SqlReportStore } from './store/report-store.js';
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
  readonly fitJobs: FitJobService;
  /** The graph projection: outbox hook, and the relay on instances with NEO4J_URI. */
  readonly graph: GraphWiring;
  /** Drains the HTTP connections, then stops the app, the parameter poll and (if opened here) the database. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** A database opened by the caller (tests); it is left open on close. */
  readonly db?: SqlDatabase;
  /** Where log lines go (default stdout). */
  readonly logStream?: NodeJS.WritableStream;
  /** Runs a fit job's EM (default: the core on BKT_FIT_THREADS worker threads). */
  readonly fitter?: Fitter;
  /** NEO4J_* variables parsed (as loadConfig does) in place of `config.graph` (tests, benchmarks); without NEO4J_URI this instance queues but does not relay. */
  readonly graphEnv?: Readonly<Record<string, string | undefined>>;
  /** Replaces the Neo4j writer (tests, benchmarks). */
  readonly graphWriter?: GraphWriter;
  readonly relayTuning?: RelayTuning;
  /**
   * The clock (milliseconds) by which the update transactions' cached graph on/off flag expires after
   * GRAPH_FLAG_TTL_MS (default performance.now); tests advance one of their own instead of waiting the TTL out.
   */
  readonly graphFlagClock?: () => number;
}

/** EM on worker threads only: the calling thread stays free for updates while a job runs. */
function workerFitter(threads: number): Fitter {
  return (data, options, onProgress, signal) =>
    fitDatasetParallel(data, {
      ...options,
      signal,
      niceness: 10,
      threads,
      minRowsPerThread: 0,
      callerWorks: false,
      onProgress: (p) => onProgress({ units: p.units, totalUnits: p.totalUnits }),
    });
}

/** The app's logger once it is built (start-up steps log through it, and nothing before it exists). */
type LateLog = () => FastifyInstance['log'] | undefined;

/** The graph projection: its settings, test overrides, and on a server its own relay connection. */
function wireGraphFor(config: Config, options: RuntimeOptions, db: SqlDatabase, store: SqlStore, log: LateLog): Promise<GraphWiring> {
  return wireGraph({
    db,
    store,
    threshold: config.masteryThreshold,
    config: options.graphEnv === undefined ? config.graph : loadGraphConfig(options.graphEnv),
    logger: log,
    ...(options.graphWriter && { writer: options.graphWriter }),
    ...(options.relayTuning && { relay: options.relayTuning }),
    ...(options.graphFlagClock && { flagClock: options.graphFlagClock }),
    // On the server the relay gets one connection of its own, outside the requests' pool.
    ...(config.databaseUrl !== undefined &&
      db.kind === 'postgres' && {
        openRelayDb: () =>
          openDatabase({ ...config, poolSize: 1 }, (err) => log()?.warn({ err }, 'idle graph relay connection failed; it is replaced')),
      }),
  });
}

/** Fit jobs: this instance's owner id, its heartbeat and sweep, and where their failures are logged. */
function newFitJobService(
  config: Config,
  options: RuntimeOptions,
  db: SqlDatabase,
  store: SqlStore,
  parameters: ParametersCache,
  log: LateLog,
): FitJobService {
  return new FitJobService({
    store: new SqlFitJobStore(db, store.pairsWritten),
    fitter: options.fitter ?? workerFitter(config.fitThreads),
    owner: `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    heartbeatMs: config.fitHeartbeatMs,
    staleMs: config.fitStaleMs,
    threshold: config.masteryThreshold,
    onParametersApplied: () => parameters.refresh(),
    onJobError: (jobId, err) => log()?.error({ err, jobId }, 'fit job failed'),
    onStaleJobs: (jobs) => log()?.warn({ jobs }, 'fit jobs whose heartbeat stopped are marked interrupted (sweep)'),
    onSweepError: (err) => log()?.warn({ err }, 'the sweep for stale fit jobs failed; the next one tries again'),
  });
}

/** Opens (or takes) the database, migrates, and builds store, services, graph wiring and app; see the file comment. */
export async function createRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  let app: FastifyInstance | undefined;
  const log: LateLog = () => app?.log;
  const db =
    options.db ??
    (await openDatabase(config, (err) => log()?.warn({ err }, 'idle database connection failed; the pool replaces it')));
  const ownsDb = options.db === undefined;
  let graph: GraphWiring | undefined;
  try {
    if (config.migrateOnStart) await migrate(db);
    const store = new SqlStore(db);
    const parameters = new ParametersCache(store, config.paramsRefreshMs, (err) =>
      log()?.warn({ err }, 'parameter refresh failed; keeping the cached parameters'),
    );
    await parameters.start();
    graph = await wireGraphFor(config, options, db, store, log);
    const service = new MasteryService({ store: graph.wrap(store), parameters, threshold: config.masteryThreshold, pairWaitMs: config.lockTimeoutMs });
    const fitJobs = newFitJobService(config, options, db, store, parameters, log);
    // Embedded PGlite has one process (the lock file): any job it finds queued or running was left by a dead one.
    const interrupted = await fitJobs.recover(db.kind === 'pglite' ? 'all' : 'stale');
    const adminStore = new SqlAdminStore(db);
    const admin = new AdminService(adminStore, adminStore, () => parameters.refresh());
    app = await buildApp({
      config,
      service,
      fitting: { fitJobs, admin },
      report: new ReportService(new SqlReportStore(db), (id) => fitJobs.get(id)),
      readiness: () => store.readiness(),
      poolStats: () => db.poolStats(),
      ...(options.logStream && { logStream: options.logStream }),
      ...(graph.projection && { graph: { projection: graph.projection, inReady: graph.relay !== undefined } }),
    });
    const built = app;
    if (interrupted.length > 0) built.log.warn({ jobs: interrupted }, 'fit jobs left running by a stopped process are marked interrupted');
    const wired = graph;
    wired.start();
    // A job whose process dies while this one runs is marked interrupted by the sweep, without waiting for a reader.
    fitJobs.startSweep();
    return {
      app: built,
      db,
      store,
      service,
      parameters,
      fitJobs,
      graph: wired,
      async close() {
        // Requests in flight finish first, while the database is still open.
        await connectionsOf(built).drain(config.shutdownTimeoutMs);
        await fitJobs.close();
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
