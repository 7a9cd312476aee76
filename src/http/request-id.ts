/** Request ids: a caller's x-request-id is kept only when it is short and plain; any other gets a fresh UUID. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Up to 128 characters of letters, digits and `._:-`: enough for UUIDs, trace ids and ULIDs, nothing that can split a log line. */
export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Fastify's genReqId: the caller's id when it is acceptable, else a new one. */
export function requestId(req: IncomingMessage): string {
  const header = req.headers['x-request-id'];
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}
