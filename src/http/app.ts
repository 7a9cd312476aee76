/**
 * buildApp(deps): the Fastify application, without listening. Tests drive it with inject(); `bkt serve` listens.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from '../config.js';
import type { AdminService, FitJobService, MasteryService } from '../service/index.js';
import type { GraphProjection } from '../service/graph-port.js';
import { authHook } from './auth.js';
import { trackConnections, type ConnectionTracker } from './connections.js';
import { errorHandlerWith, HttpError, sendError } from './errors.js';
import { registerJsonParser } from './json-body.js';
import { OutageLog } from './outage.js';
import { requestId } from './request-id.js';
import { PROBES, registerRequestLog } from './request-log.js';
import { stdoutDestination } from './log-destination.js';
import { createMetrics, graphLag, instrument, type Metrics, registerGraphMetrics, type PoolFigures } from './metrics.js';
import { masteryRoutes } from './routes.js';
import { fitRoutes } from './fit-routes.js';
import { FIT_SCHEMAS } from './fit-schemas.js';
import { addNamedSchemas, openApiOptions } from './openapi.js';
import { MASTERY_SCHEMAS } from './schemas.js';
import { VERSION } from '../version.js';
import { buildValidator } from './validation.js';
import { reportRoutes } from './report-routes.js';
import type { ReportService } from '../service/report-service.js';

export const BODY_LIMIT = 16 * 1024;

export interface AppDeps {
  readonly config: Config;
  readonly service: MasteryService;
  /** Throws when the database is unreachable; lists migrations not applied. */
  readonly readiness: () => Promise<{ pendingMigrations: string[] }>;
  readonly poolStats: () => PoolFigures;
  /** Fit jobs, parameters and history routes (absent: not registered). */
  readonly fitting?: { readonly fitJobs: FitJobService; readonly admin: AdminService };
  /** GET /admin/report (absent: not registered). */
  readonly report?: ReportService;
  /** Where log lines go (default stdout); tests capture them here. */
  readonly logStream?: NodeJS.WritableStream;
  /**
   * The graph projection's lag for /metrics; also shown by /ready (which stays 200 when only Neo4j is down) when
   * `inReady` (instances that relay to Neo4j).
   */
  readonly graph?: { readonly projection: GraphProjection; readonly inReady: boolean };
}

/** The app's open sockets, for the drain at shutdown (see connections.ts). */
const trackers = new WeakMap<FastifyInstance, ConnectionTracker>();

/** The connection tracker of an app built by buildApp. */
export function connectionsOf(app: FastifyInstance): ConnectionTracker {
  const tracker = trackers.get(app);
  if (!tracker) throw new Error('not an app built by buildApp');
  return tracker;
}

/** `Authorization: Bearer <token>` checked against one digest, in constant time. */
function bearerMatches(header: string | undefined, digest: Buffer): boolean {
  const match = header === undefined ? null : /^Bearer ([^\s]+)$/i.exec(header);
  return match !== null && timingSafeEqual(createHash('sha256').update(match[1]).digest(), digest);
}

/** The rate limit's key: a digest of the bearer token (never the token itself), else the client's address. */
function rateKey(authorization: string | undefined, ip: string): string {
  return authorization === undefined ? `ip:${ip}` : `token:${createHash('sha256').update(authorization).digest('base64')}`;
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const destination = deps.logStream === undefined ? stdoutDestination(config.logBufferBytes) : undefined;
  const stream = deps.logStream ?? destination?.stream;
  const app = Fastify({
    logger: {
      level: config.logLevel,
      // Tokens must never reach a log line, whatever serialiser is configured later.
      redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
      ...(stream && { stream }),
    },
    bodyLimit: BODY_LIMIT,
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.connectionTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    // Node checks the request timeout of open sockets every 30 s by default: a slow client could hold one that long.
    http: { connectionsCheckingInterval: Math.min(1000, config.requestTimeoutMs) },
    // Answered, with Connection: close, rather than 503 while the drain (connections.ts) lets requests finish.
    return503OnClosing: false,
    // Fastify's two lines per request are replaced by request-log.ts's one.
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: requestId,
    // The router rejects a malformed or over-long path before any hook runs; render those like every other error.
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      if (error.code === 'FST_ERR_BAD_URL') return sendError(reply, 'invalid_input', 'the URL path is not valid (malformed percent-encoding)');
      if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') return sendError(reply, 'invalid_input', 'a path parameter is longer than any valid id');
      return errorHandler(error, request, reply);
    },
    // A JSON body is taken as sent (no "true" -> true, no silently dropped unknown fields); a query string's
    // numbers are coerced (validation.ts).
    schemaController: { compilersFactory: { buildValidator } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // JSON only: a text/plain body would otherwise reach validation as a string and read as a confusing 400.
  app.removeContentTypeParser('text/plain');
  registerJsonParser(app);
  app.server.maxConnections = config.maxConnections;
  // Headers count towards the request timeout, not a separate minute (Node's default).
  app.server.headersTimeout = config.requestTimeoutMs;
  trackers.set(app, trackConnections(app));
  registerRequestLog(app, config);
  const metrics = createMetrics(deps.poolStats, destination?.dropped);
  if (destination) app.addHook('onClose', (_app, done) => {
    destination.close();
    done();
  });
  const outage = new OutageLog(metrics.registry, () => app.log);
  instrument(app, metrics.registry);
  if (deps.graph) registerGraphMetrics(metrics.registry, deps.graph.projection);
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.addHook('onRequest', authHook({ service: config.serviceTokenDigests, admin: config.adminTokenDigests }));
  const errorHandler = errorHandlerWith({ onUnavailable: (err) => outage.record(err) });
  app.setErrorHandler(errorHandler);
  app.addHook('onResponse', (request, reply, done) => {
    const access = (request.routeOptions.config as { access?: string }).access;
    if (access !== undefined && access !== 'public' && reply.statusCode < 500) outage.recovered();
    done();
  });
  if (config.rateLimitPerMinute > 0) await registerRateLimit(app, config.rateLimitPerMinute);
  app.setNotFoundHandler((request, reply) => sendError(reply, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`));

  await app.register(swagger, openApiOptions(VERSION));
  addNamedSchemas(app, [...MASTERY_SCHEMAS, ...FIT_SCHEMAS]);
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(masteryRoutes(deps.service, metrics));
  if (deps.fitting) await app.register(fitRoutes(deps.fitting.fitJobs, deps.fitting.admin));
  if (deps.report) await app.register(reportRoutes(deps.report));

  registerProbes(app, deps, metrics.registry);
  return app;
}

/** Per token (or address without one) and minute; the probes are exempt. */
async function registerRateLimit(app: FastifyInstance, perMinute: number): Promise<void> {
  await app.register(rateLimit, {
    max: perMinute,
    timeWindow: 60_000,
    keyGenerator: (request) => rateKey(request.headers.authorization, request.ip),
    allowList: (request) => PROBES.has(request.url.split('?')[0]),
    errorResponseBuilder: (_request, context) =>
      new HttpError('rate_limited', `more than ${context.max} requests in a minute for this token; retry after ${context.after}`),
  });
}

/** `/health`, `/ready` (pending migrations, graph lag) and `/metrics` (behind BKT_METRICS_TOKEN when set). */
function registerProbes(app: FastifyInstance, deps: AppDeps, registry: Metrics['registry']): void {
  app.get('/health', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/ready', { schema: { hide: true } }, async (_request, reply) => {
    const { pendingMigrations } = await deps.readiness();
    if (pendingMigrations.length > 0) {
      return sendError(reply, 'unavailable', `migrations not applied: ${pendingMigrations.join(', ')}; run bkt migrate`);
    }
    return { status: 'ready', ...(deps.graph?.inReady && { graph: graphLag(deps.graph.projection) }) };
  });
  const metricsDigest = deps.config.metricsTokenDigest;
  app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
    if (metricsDigest !== undefined && !bearerMatches(request.headers.authorization, metricsDigest)) {
      reply.header('www-authenticate', 'Bearer');
      return sendError(reply, 'unauthorized', 'send Authorization: Bearer <BKT_METRICS_TOKEN>');
    }
    reply.type(registry.contentType);
    return registry.metrics();
  });
}
