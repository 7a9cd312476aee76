/** Prometheus metrics, one registry per app. Labels are route patterns and outcomes, never ids. */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import type { GraphProjection } from '../service/graph-port.js';

export interface PoolFigures {
  readonly total: number;
  readonly idle: number;
  readonly waiting: number;
}

export interface Metrics {
  readonly registry: Registry;
  readonly updates: Counter<'result'>;
  readonly masteriesReached: Counter;
}

/** `droppedLogLines`: lines the buffered log destination dropped (log-destination.ts), where one is used. */
export function createMetrics(poolStats: () => PoolFigures, droppedLogLines?: () => number): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const updates = new Counter({
    name: 'bkt_updates_total',
    help: 'Responses handled, by result (applied or replayed)',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const masteriesReached = new Counter({
    name: 'bkt_masteries_reached_total',
    help: 'Updates after which a pair became mastered (newly_mastered)',
    registers: [registry],
  });
  new Gauge({
    name: 'bkt_db_pool_connections',
    help: 'Database pool connections by state',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const s = poolStats();
      this.set({ state: 'total' }, s.total);
      this.set({ state: 'idle' }, s.idle);
      this.set({ state: 'waiting' }, s.waiting);
    },
  });
  if (droppedLogLines) {
    countFrom(registry, 'bkt_log_lines_dropped_total', 'Log lines dropped because stdout did not take them fast enough', droppedLogLines);
  }
  return { registry, updates, masteriesReached };
}

/** A counter that follows a running total kept elsewhere (read at each scrape). */
function countFrom(registry: Registry, name: string, help: string, total: () => number): void {
  let counted = 0;
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const n = total();
      if (n > counted) this.inc(n - counted);
      counted = n;
    },
  });
}

/** Request latency by method, route pattern and status. */
export function instrument(app: FastifyInstance, registry: Registry): void {
  const latency = new Histogram({
    name: 'bkt_http_request_duration_seconds',
    help: 'HTTP request latency by route pattern',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.addHook('onResponse', (request, reply, done) => {
    latency.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    done();
  });
}

/** The graph projection's backlog and relay failures (read from the relay, or a watcher where none runs). */
export function registerGraphMetrics(registry: Registry, graph: GraphProjection): void {
  new Gauge({
    name: 'bkt_graph_pending',
    help: 'Outbox rows not yet projected to Neo4j (at most one per student-concept pair)',
    registers: [registry],
    collect() {
      this.set(graph.metrics().pending);
    },
  });
  new Gauge({
    name: 'bkt_graph_oldest_pending_seconds',
    help: 'Age of the oldest change not yet projected to Neo4j',
    registers: [registry],
    collect() {
      this.set(graph.metrics().oldestPendingSeconds);
    },
  });
  countFrom(registry, 'bkt_graph_relay_failures_total', 'Failed relay attempts (Neo4j or the outbox) since this instance started', () => graph.metrics().failures);
  new Gauge({
    name: 'bkt_graph_relay_lease',
    help: '1 when this instance holds the relay lease (it is the one sending to Neo4j)',
    registers: [registry],
    collect() {
      this.set(graph.metrics().holdsLease ? 1 : 0);
    },
  });
}

/** The lag as /ready shows it. */
export function graphLag(graph: GraphProjection) {
  const m = graph.metrics();
  return {
    pending: m.pending,
    oldest_pending_seconds: Math.round(m.oldestPendingSeconds * 1000) / 1000,
    failing: m.failing,
    relaying: m.holdsLease,
  };
}
