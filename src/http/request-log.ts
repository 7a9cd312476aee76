/**
 * One log line per request, written when the response is sent (Fastify's own pair of "incoming request" and
 * "request completed" lines is turned off). Probes (/health, /ready, /metrics) are not logged unless asked for;
 * `errors` keeps only 4xx (info) and 5xx (error) lines.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';

export const PROBES = new Set(['/health', '/ready', '/metrics']);

type LogSettings = Pick<Config, 'requestLog' | 'logProbes' | 'logLevel'>;

export function registerRequestLog(app: FastifyInstance, config: LogSettings): void {
  if (config.requestLog === 'off') return;
  // Nothing to build for a line the level drops anyway (a success at LOG_LEVEL=warn and above).
  const infoOn = ['trace', 'debug', 'info'].includes(config.logLevel);
  const errorOn = infoOn || config.logLevel === 'warn' || config.logLevel === 'error';
  app.addHook('onResponse', (request, reply, done) => {
    if (reply.statusCode >= 500 ? errorOn : infoOn) logRequest(request, reply, config);
    done();
  });
}

function logRequest(request: FastifyRequest, reply: FastifyReply, config: LogSettings): void {
  const status = reply.statusCode;
  if (config.requestLog === 'errors' && status < 400) return;
  const route = request.routeOptions.url;
  if (!config.logProbes && route !== undefined && PROBES.has(route)) return;
  const fields = {
    method: request.method,
    url: request.url.length > 200 ? `${request.url.slice(0, 200)}...` : request.url,
    status,
    ms: Math.round(reply.elapsedTime * 10) / 10,
  };
  if (status >= 500) request.log.error(fields, 'request');
  else request.log.info(fields, 'request');
}
