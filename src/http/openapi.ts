/**
 * The OpenAPI document's shared parts: named schemas (registered once with addSchema and referenced by $id), the
 * error responses each route declares, the headers every response carries, servers and license. @fastify/swagger
 * builds the document from the routes; `openApiOptions()` configures it and finishes it in one place.
 */
import type { FastifyInstance } from 'fastify';
import type { SwaggerOptions } from '@fastify/swagger';
import { Type, type Static, type TSchema } from 'typebox';
import { ERROR_STATUS, type ErrorCode, RETRY_AFTER_SECONDS } from './errors.js';

/** The error body of every 4xx and 5xx response; `code` is one of the error table's codes. */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.Unsafe<ErrorCode>({ type: 'string', enum: Object.keys(ERROR_STATUS), description: 'stable error code; see the error table' }),
      message: Type.String({ description: 'what was wrong, for people' }),
      field: Type.Optional(Type.String({ description: 'the field at fault, e.g. responses[3].answered_at' })),
    }),
  },
  { $id: 'Error' },
);
export type ErrorBody = Static<typeof ErrorBody>;

/** A reference to a named schema, typed as the schema itself so that handlers keep their request and reply types. */
export function ref<T extends TSchema>(schema: T, extra: Record<string, unknown> = {}): T {
  const id = (schema as { $id?: string }).$id;
  if (id === undefined) throw new TypeError('ref() needs a schema with an $id');
  return Type.Unsafe<Static<T>>({ $ref: `${id}#`, ...extra }) as unknown as T;
}

type Status = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 429 | 500 | 503;

const DESCRIPTIONS: Record<Status, string> = {
  400: 'Invalid input (invalid_input, invalid_json): the message and `field` name what was wrong',
  401: 'Missing or unknown bearer token (unauthorized)',
  403: 'The token may not use this route (forbidden)',
  404: 'No such resource (not_found)',
  409: 'Conflict with the stored state (idempotency_conflict or fit_in_progress)',
  413: 'The body is larger than the route accepts (payload_too_large)',
  415: 'The body is not application/json (unsupported_media_type)',
  429: 'Too many requests for this token in a minute (rate_limited; only when BKT_RATE_LIMIT is set)',
  500: 'Internal error; x-request-id identifies it in the logs (internal)',
  503: 'The database is unreachable or busy (unavailable): retry after Retry-After seconds',
};

/** Every route: validation, authentication, the rate limit, internal errors and an unavailable database. */
const EVERY_ROUTE: readonly Status[] = [400, 401, 403, 429, 500, 503];
/** Routes that take a JSON body. */
const WITH_BODY: readonly Status[] = [413, 415];

/** The error responses of a route: those of every route, the body's when it takes one, and `more`. */
export function errorResponses(options: { body?: boolean; more?: readonly Status[] } = {}): Record<Status, typeof ErrorBody> {
  const statuses = new Set<Status>([...EVERY_ROUTE, ...(options.body ? WITH_BODY : []), ...(options.more ?? [])]);
  const out = {} as Record<Status, typeof ErrorBody>;
  for (const s of [...statuses].sort()) out[s] = ref(ErrorBody, { description: DESCRIPTIONS[s] });
  return out;
}

/** Registers every named schema; routes refer to them with ref(). Call before registering the routes. */
export function addNamedSchemas(app: FastifyInstance, schemas: readonly TSchema[]): void {
  for (const schema of [ErrorBody, ...schemas]) app.addSchema(schema);
}

const HEADERS = {
  RequestId: {
    description: 'The request id: the one sent in x-request-id, else a new UUID. Log lines carry it.',
    schema: { type: 'string' },
  },
  RetryAfter: { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 0, example: RETRY_AFTER_SECONDS } },
  WwwAuthenticate: { description: 'The bearer challenge (RFC 6750)', schema: { type: 'string', example: 'Bearer error="invalid_token"' } },
} as const;

type Operation = { responses?: Record<string, { headers?: Record<string, unknown> }> };

/** Adds the headers the app sends on every response (x-request-id), on 429 and 503 (Retry-After), on 401 (WWW-Authenticate). */
function addResponseHeaders(document: { paths?: Record<string, Record<string, Operation>> }): void {
  for (const path of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(path)) {
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        response.headers = { ...response.headers, 'x-request-id': { $ref: '#/components/headers/RequestId' } };
        if (status === '503' || status === '429') response.headers['Retry-After'] = { $ref: '#/components/headers/RetryAfter' };
        if (status === '401') response.headers['WWW-Authenticate'] = { $ref: '#/components/headers/WwwAuthenticate' };
      }
    }
  }
}

/** The @fastify/swagger options: the document's header, named components, and the finishing pass above. */
export function openApiOptions(version: string): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'bkt-engine mastery service',
        version,
        description: 'Bayesian Knowledge Tracing: record answers, read mastery, fit and manage parameters.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      servers: [{ url: 'http://127.0.0.1:3000', description: 'bkt serve with its defaults (PORT=3000, HOST=127.0.0.1)' }],
      tags: [
        { name: 'mastery', description: 'Record answers and read mastery (service tokens)' },
        { name: 'parameters', description: 'Read per-concept parameters (service tokens)' },
        { name: 'admin', description: 'Fit jobs, parameter changes and erasure (admin tokens)' },
      ],
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'a token from BKT_SERVICE_TOKENS or BKT_ADMIN_TOKENS' } },
        headers: HEADERS,
      },
      security: [{ bearer: [] }],
    },
    // Named schemas keep their $id as their name under components.schemas (the default would be def-0, def-1, ...).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    transformObject: (documentObject) => {
      const document = 'openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject;
      addResponseHeaders(document as Parameters<typeof addResponseHeaders>[0]);
      return document as never;
    },
  };
}
