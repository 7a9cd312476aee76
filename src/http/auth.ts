/**
 * Bearer tokens for service-to-service calls. Presented tokens are hashed and compared with the configured SHA-256
 * digests in constant time, against every digest (no early exit), so the timing says nothing about which was close.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './errors.js';

export type Access = 'public' | 'service' | 'admin';

export interface TokenDigests {
  readonly service: readonly Buffer[];
  readonly admin: readonly Buffer[];
}

function matchesAny(digest: Buffer, list: readonly Buffer[]): boolean {
  let found = false;
  for (const d of list) found = timingSafeEqual(digest, d) || found;
  return found;
}

/** The hook that enforces a route's `config.access`. With no tokens configured (loopback only) everything passes. */
export function authHook(tokens: TokenDigests) {
  const enabled = tokens.service.length + tokens.admin.length > 0;
  // A callback hook (Fastify catches what it throws): no promise per request for a check that never waits.
  return (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void => {
    const access = (request.routeOptions.config as { access?: Access }).access ?? 'public';
    if (!enabled || access === 'public') return done();
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer ([^\s]+)$/i.exec(header);
    if (!match) {
      reply.header('www-authenticate', 'Bearer');
      throw new HttpError('unauthorized', 'send Authorization: Bearer <token>');
    }
    const digest = createHash('sha256').update(match[1]).digest();
    const isAdmin = matchesAny(digest, tokens.admin);
    const isService = matchesAny(digest, tokens.service);
    if (!isAdmin && !isService) {
      reply.header('www-authenticate', 'Bearer error="invalid_token"');
      throw new HttpError('unauthorized', 'the bearer token is not valid');
    }
    if (access === 'admin' && !isAdmin) throw new HttpError('forbidden', 'this route needs an admin token');
    done();
  };
}
