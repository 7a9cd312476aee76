/**
 * The app a service shows while its database cannot be reached at start: /health answers 200 (the process is alive),
 * /ready answers 503 (send no traffic), everything else 503 with Retry-After. `bkt serve` replaces it with the real
 * app as soon as the database answers, in the same process.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { sendError } from './errors.js';
import { requestId } from './request-id.js';

export async function buildStandbyApp(config: Config, logStream?: NodeJS.WritableStream): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: config.logLevel, ...(logStream && { stream: logStream }) },
    requestTimeout: config.requestTimeoutMs,
    connectionTimeout: config.connectionTimeoutMs,
    // Short: at the switch to the real app, idle sockets are closed; clients reconnect to the real one.
    keepAliveTimeout: 1000,
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false,
    genReqId: requestId,
  });
  app.server.maxConnections = config.maxConnections;
  let reason = 'the database is not reachable yet';
  app.decorate('standbyReason', (text: string) => {
    reason = text;
  });
  app.get('/health', async () => ({ status: 'ok' }));
  app.setNotFoundHandler((request, reply) => {
    reply.header('x-request-id', request.id);
    return sendError(reply, 'unavailable', `starting: ${reason}; retry later`);
  });
  return app;
}

/** Tells the standby app what /ready and the other routes say (the last connection error). */
export function setStandbyReason(app: FastifyInstance, text: string): void {
  (app as unknown as { standbyReason: (t: string) => void }).standbyReason(text);
}
