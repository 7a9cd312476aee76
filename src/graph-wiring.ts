/**
 * Composition of the graph projection (docs/graph.md): the SQL outbox hooked into every update transaction, and on
 * instances with NEO4J_URI the relay that sends it to Neo4j (the lease decides which instance works). Instances
 * without NEO4J_URI still queue rows and report the backlog, and say once at start-up that they do not relay.
 */
import { describeNeo4jConfig, type GraphConfig } from './graph/config.js';
import { createNeo4jWriter } from './graph/neo4j-writer.js';
import { OutboxRelay, describeError, type RelayLogger, type RelayOptions } from './graph/relay.js';
import { WakeLimiter } from './graph/wake.js';
import type { GraphProjection, GraphRelayMetrics, GraphWriter } from './service/graph-port.js';
import type { MasteryStore } from './service/ports.js';
import { pairsWrittenHook } from './store/outbox-hook.js';
import { SqlOutbox } from './store/outbox-relay-store.js';
import { hasGraphSchema } from './store/graph-admin.js';
import type { SqlStore } from './store/sql-store.js';
import type { SqlDatabase } from './store/sql.js';


/**
 * Least time between two wake-ups of the relay by commits (src/graph/wake.ts): at most this much projection lag, and
 * only under load; a commit after a quiet spell wakes the relay at once.
 */
export const RELAY_WAKE_INTERVAL_MS = 50;

/** Relay settings tests may shorten (poll interval, backoff, lease, batch size). */
export type RelayTuning = Pick<RelayOptions, 'batchSize' | 'pollIntervalMs' | 'leaseTtlMs' | 'backoff' | 'holder'>;

export interface GraphWiringOptions {
  readonly db: SqlDatabase;
  readonly store: SqlStore;
  /** The service's mastery threshold: `mastered` on the relationship. */
  readonly threshold: number;
  /** The NEO4J_* settings as loadConfig() parsed them (not enabled: queue only, do not relay). */
  readonly config: GraphConfig;
  /** Log lines go here once the app's logger exists. */
  readonly logger: () => RelayLogger | undefined;
  /** Replaces the Neo4j writer (tests and benchmarks); only used when NEO4J_URI is set. */
  readonly writer?: GraphWriter;
  readonly relay?: RelayTuning;
  /** The clock by which the cached on/off flag expires (default performance.now; see pairsWrittenHook). */
  readonly flagClock?: () => number;
  /** How often an instance that does not relay reads the backlog for /metrics. */
  readonly watchIntervalMs?: number;
  /**
   * Opens a database connection of the relay's own (closed with the wiring); without it the relay shares `db`. On the
   * server, a connection of its own keeps the relay from taking a request's slot in the pool, above all when a batch is
   * slow (a stall, a backlog) and requests need every slot.
   */
  readonly openRelayDb?: () => Promise<SqlDatabase>;
}

export interface GraphWiring {
  readonly config: GraphConfig;
  readonly outbox: SqlOutbox;
  /** The relay on instances with NEO4J_URI, else undefined. */
  readonly relay: OutboxRelay | undefined;
  /** Lag figures for /ready and /metrics (the relay's, or a watcher's on instances that do not relay). */
  readonly projection: GraphProjection | undefined;
  /** The store with `notify()` after each committed update or erasure. */
  wrap(store: MasteryStore): MasteryStore;
  /** Logs what this instance does and starts the relay or the watcher. */
  start(): void;
  close(): Promise<void>;
}

/** Reads the backlog now and then, for instances that queue rows but do not relay them. */
class OutboxWatcher implements GraphProjection {
  #figures: GraphRelayMetrics = { pending: 0, oldestPendingSeconds: 0, failures: 0, failing: false, holdsLease: false };
  #readAt = performance.now();
  #timer: NodeJS.Timeout | undefined;
  #reading = false;

  constructor(
    private readonly outbox: SqlOutbox,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    const read = async (): Promise<void> => {
      if (this.#reading) return;
      this.#reading = true;
      try {
        const s = await this.outbox.stats();
        this.#figures = { ...this.#figures, pending: s.pending, oldestPendingSeconds: s.oldestAgeSeconds };
        this.#readAt = performance.now();
      } catch {
        // The database being down shows in /ready and the requests themselves; keep the last figures.
      } finally {
        this.#reading = false;
      }
    };
    void read();
    this.#timer = setInterval(() => void read(), this.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  notify(): void {}

  metrics(): GraphRelayMetrics {
    const f = this.#figures;
    const since = (performance.now() - this.#readAt) / 1000;
    return { ...f, oldestPendingSeconds: f.pending === 0 ? 0 : f.oldestPendingSeconds + since };
  }
}

export async function wireGraph(options: GraphWiringOptions): Promise<GraphWiring> {
  const config = options.config;
  const outbox = new SqlOutbox(options.db);
  const log: RelayLogger = {
    info: (fields, message) => options.logger()?.info(fields, message),
    warn: (fields, message) => options.logger()?.warn(fields, message),
  };
  // Without the migration (a service started with --no-migrate) updates must still work; /ready reports it.
  const migrated = await hasGraphSchema(options.db);
  if (migrated) options.store.onPairsWritten(pairsWrittenHook(options.threshold, options.flagClock));

  let writer: GraphWriter | undefined;
  let relay: OutboxRelay | undefined;
  let watcher: OutboxWatcher | undefined;
  let relayDb: SqlDatabase | undefined;
  if (migrated && config.enabled) {
    writer = options.writer ?? createNeo4jWriter(config.neo4j);
    relayDb = await options.openRelayDb?.();
    relay = new OutboxRelay({ outbox: relayDb === undefined ? outbox : new SqlOutbox(relayDb), writer, logger: log, ...options.relay });
  } else if (migrated) {
    watcher = new OutboxWatcher(outbox, options.watchIntervalMs ?? 5_000);
  }
  const projection: GraphProjection | undefined = relay ?? watcher;
  const wake = relay === undefined ? undefined : new WakeLimiter(RELAY_WAKE_INTERVAL_MS, () => relay.notify());
  const notify = (): void => wake?.commit();
  let closed = false;

  return {
    config,
    outbox,
    relay,
    projection,
    wrap(store: MasteryStore): MasteryStore {
      if (relay === undefined) return store;
      return {
        async recordResponses(input, plan) {
          const result = await store.recordResponses(input, plan);
          notify();
          return result;
        },
        readPair: (key) => store.readPair(key),
        readStudent: (studentId, after, limit) => store.readStudent(studentId, after, limit),
        async eraseStudent(studentId) {
          const result = await store.eraseStudent(studentId);
          notify();
          return result;
        },
      };
    },
    start() {
      if (!migrated) {
        log.warn({}, 'graph projection: the graph outbox migration is not applied; updates are not queued for Neo4j until bkt migrate runs');
        return;
      }
      if (relay !== undefined && config.enabled) {
        log.info({ neo4j: describeNeo4jConfig(config.neo4j), holder: relay.holder }, 'graph relay: this instance relays the outbox to Neo4j when it holds the lease');
        relay.start();
      } else if (!config.enabled) {
        log.info({}, `graph relay: off on this instance (${config.reason})`);
        watcher?.start();
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      wake?.cancel();
      watcher?.stop();
      if (relay !== undefined) await relay.stop();
      if (writer !== undefined) {
        try {
          await writer.close();
        } catch (error) {
          log.warn({ error: describeError(error) }, 'graph relay: closing the Neo4j driver failed');
        }
      }
      await relayDb?.close();
    },
  };
}
