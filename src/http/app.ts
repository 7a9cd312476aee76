/**
 * buildApp(deps): the Fastify application, without listening. Tests drive it with inject(); `bkt serve` listens.
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Config } from '../config.js';
import type { AdminService, FitJobService, MasteryService } from '../service/index.js';
import type { GraphProjection } from '../service/graph-port.js';
import { authHook } from './auth.js';
import { errorHandler, sendError } from './errors.js';
import { createMetrics, graphLag, instrument, registerGraphMetrics, type PoolFigures } from './metrics.js';
import { masteryRoutes } from './routes.js';
import { fitRoutes } from './fit-routes.js';
import { FIT_SCHEMAS } from './fit-schemas.js';
import { addNamedSchemas, openApiOptions } from './openapi.js';
import { MASTERY_SCHEMAS } from './schemas.js';
import { VERSION } from '../version.js';
import { buildValidator } from './validation.js';

export const BODY_LIMIT = 16 * 1024;

export interface AppDeps {
  readonly config: Config;
  readonly service: MasteryService;
  /** Throws when the database is unreachable; lists migrations not applied. */
  readonly readiness: () => Promise<{ pendingMigrations: string[] }>;
  readonly poolStats: () => PoolFigures;
  /** Fit jobs, parameters and history routes (absent: not registered). */
  readonly fitting?: { readonly fitJobs: FitJobService; readonly admin: AdminService };
  /** Where log lines go (default stdout); tests capture them here. */
  readonly logStream?: NodeJS.WritableStream;
  /**
   * The graph projection's lag for /metrics; also shown by /ready (which stays 200 when only Neo4j is down) when
   * `inReady` (instances that relay to Neo4j).
   */
  readonly graph?: { readonly projection: GraphProjection; readonly inReady: boolean };
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    logger: {
      level: config.logLevel,
      // Tokens must never reach a log line, whatever serialiser is configured later.
      redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
      ...(deps.logStream && { stream: deps.logStream }),
    },
    bodyLimit: BODY_LIMIT,
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.requestTimeoutMs,
    keepAliveTimeout: 65_000,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
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
  const metrics = createMetrics(deps.poolStats);
  instrument(app, metrics.registry);
  if (deps.graph) registerGraphMetrics(metrics.registry, deps.graph.projection);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onRequest', authHook({ service: config.serviceTokenDigests, admin: config.adminTokenDigests }));
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => sendError(reply, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`));

  await app.register(swagger, openApiOptions(VERSION));
  addNamedSchemas(app, [...MASTERY_SCHEMAS, ...FIT_SCHEMAS]);
  await app.register(swaggerUi, { routePrefix: '/docs' });

  await app.register(masteryRoutes(deps.service, metrics));
  if (deps.fitting) await app.register(fitRoutes(deps.fitting.fitJobs, deps.fitting.admin));

  app.get('/health', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/ready', { schema: { hide: true } }, async (_request, reply) => {
    const { pendingMigrations } = await deps.readiness();
    if (pendingMigrations.length > 0) {
      return sendError(reply, 'unavailable', `migrations not applied: ${pendingMigrations.join(', ')}; run bkt migrate`);
    }
    return { status: 'ready', ...(deps.graph?.inReady && { graph: graphLag(deps.graph.projection) }) };
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  return app;
}
