/**
 * Database errors translated at the edge of the store: what a caller should retry later becomes the service's
 * `unavailable`, what the store itself retries is recognised here, the rest passes through (a 500 upstream).
 */
import { ServiceError } from '../service/errors.js';

interface DbErrorLike {
  code?: unknown;
  constraint?: unknown;
  message?: unknown;
}

/** SQLSTATEs meaning "the database cannot do this now": timeouts, lock waits, overload, shutdown, lost connection. */
const UNAVAILABLE_SQLSTATES = new Set([
  '57014', // query_canceled: statement_timeout
  '55P03', // lock_not_available: lock_timeout
  '53300', // too_many_connections
  '53400', // configuration_limit_exceeded
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, in recovery)
  '58000', // system_error
]);

/** Errors of the socket or the pool rather than of SQL. */
const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const UNAVAILABLE_MESSAGES = [/timeout exceeded when trying to connect/i, /connection terminated/i, /query read timeout/i, /Connection ended/i, /client has encountered a connection error/i];

function fields(e: unknown): DbErrorLike {
  return typeof e === 'object' && e !== null ? (e as DbErrorLike) : {};
}

export function isUnavailable(e: unknown): boolean {
  const { code, message } = fields(e);
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08') || UNAVAILABLE_NODE_CODES.has(code))) {
    return true;
  }
  if (e instanceof AggregateError) return e.errors.some(isUnavailable);
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => m.test(message));
}

/** Worth running the whole transaction again: deadlock, serialisation failure, or a response id that raced us. */
export function isRetryable(e: unknown): boolean {
  const { code, constraint } = fields(e);
  if (code === '40P01' || code === '40001') return true;
  // Two requests with one response id for different pairs hold different locks; the loser sees the winner on retry.
  return code === '23505' && (constraint === 'mastery_history_response_id_key' || constraint === 'mastery_history_pair_seq_key');
}

/** The response id is already recorded (the single-answer write inserts without ON CONFLICT). */
export function isSeenResponseId(e: unknown): boolean {
  const { code, constraint } = fields(e);
  return code === '23505' && constraint === 'mastery_history_response_id_key';
}

/** The error the service should see. */
export function translateDbError(e: unknown): unknown {
  if (e instanceof ServiceError) return e;
  if (isUnavailable(e)) return new ServiceError('unavailable', 'the database is unavailable, retry later', undefined, { cause: e });
  const { code, constraint } = fields(e);
  if (code === '23503' && constraint === 'student_mastery_student_id_fkey') {
    return new ServiceError('invalid_input', 'student_id is not a user of this project (auth.users)', 'student_id', { cause: e });
  }
  return e;
}
