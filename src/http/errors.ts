/**
 * The one table of error codes and HTTP statuses, and the handler that renders every error as
 * `{error: {code, message, field?}}`. 4xx messages say exactly what was wrong; 5xx say nothing internal.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isServiceError } from '../service/errors.js';

export const ERROR_STATUS = {
  invalid_input: 400,
  invalid_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  idempotency_conflict: 409,
  fit_in_progress: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 1;

export class HttpError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export function sendError(reply: FastifyReply, code: ErrorCode, message: string, field?: string): FastifyReply {
  if (code === 'unavailable') reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  return reply.code(ERROR_STATUS[code]).send({ error: { code, message, ...(field !== undefined && { field }) } });
}

/** "/responses/3/correct" -> "responses[3].correct" */
function fieldPath(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  if (extra) parts.push(extra);
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

interface AjvIssue {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

function describeValidation(issue: AjvIssue, context: string | undefined): { field: string; message: string } {
  const extra =
    issue.keyword === 'required'
      ? String(issue.params.missingProperty)
      : issue.keyword === 'additionalProperties'
        ? String(issue.params.additionalProperty)
        : undefined;
  const field = fieldPath(issue.instancePath, extra) || context || 'body';
  const format = issue.params.format;
  const message =
    issue.keyword === 'required'
      ? `${field} is required`
      : issue.keyword === 'additionalProperties'
        ? `${field} is not a known field`
        : format === 'uuid'
          ? `${field} must be a UUID`
          : format === 'date-time'
            ? `${field} must be an ISO 8601 date-time with a time zone`
            : `${field} ${issue.message ?? 'is invalid'}`;
  return { field, message };
}

/** Fastify's own error codes for request bodies, mapped onto the table. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_input',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
};

/** What the handler reports beside the response: a 503 of the database (counted and logged once per outage). */
export interface ErrorEvents {
  onUnavailable(error: Error, request: FastifyRequest): void;
}

const LOG_EACH_UNAVAILABLE: ErrorEvents = {
  onUnavailable: (error, request) => request.log.warn({ err: error }, 'database unavailable'),
};

/** A 4xx thrown by a plugin (for example @fastify/send's 400 for a path with %00): its status, in our table's terms. */
function clientStatus(error: FastifyError): ErrorCode | undefined {
  const status = error.statusCode ?? (error as { status?: number }).status;
  if (typeof status !== 'number' || status < 400 || status > 499) return undefined;
  if (status === 404) return 'not_found';
  if (status === 403) return 'forbidden';
  if (status === 413) return 'payload_too_large';
  if (status === 415) return 'unsupported_media_type';
  if (status === 429) return 'rate_limited';
  return 'invalid_input';
}

/** The error handler; `events` receives the database outages (default: one warn line each). */
export function errorHandlerWith(events: ErrorEvents = LOG_EACH_UNAVAILABLE) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply => handle(error, request, reply, events);
}

export const errorHandler = errorHandlerWith();

function handle(error: FastifyError, request: FastifyRequest, reply: FastifyReply, events: ErrorEvents): FastifyReply {
  if (error.validation) {
    const { field, message } = describeValidation(error.validation[0] as AjvIssue, error.validationContext);
    return sendError(reply, 'invalid_input', message, field);
  }
  if (error instanceof HttpError) return sendError(reply, error.code, error.message, error.field);
  if (isServiceError(error)) {
    if (error.code === 'unavailable') events.onUnavailable((error.cause as Error | undefined) ?? error, request);
    return sendError(reply, error.code, error.message, error.field);
  }
  const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
  if (mapped) {
    const message =
      mapped === 'payload_too_large'
        ? 'the request body is larger than this route accepts'
        : mapped === 'unsupported_media_type'
          ? 'send the body as application/json'
          : mapped === 'invalid_json'
            ? 'the body is not valid JSON'
            : error.message;
    return sendError(reply, mapped, message);
  }
  // Anything else is ours: log it in full, tell the caller nothing internal.
  if (error instanceof SyntaxError && error.message.includes('JSON')) return sendError(reply, 'invalid_json', 'the body is not valid JSON');
  const client = clientStatus(error);
  if (client) {
    request.log.info({ status: ERROR_STATUS[client], reason: error.message }, 'client error');
    const message = client === 'not_found' ? `no resource at ${request.url.split('?')[0].slice(0, 200)}` : 'the request is not valid (for example a path with %00 or ..)';
    return sendError(reply, client, message);
  }
  request.log.error({ err: error }, 'unhandled error');
  return sendError(reply, 'internal', 'internal error; the request id in x-request-id identifies it in the logs');
}
