/** The service's one error type: a closed set of codes that each face (HTTP, CLI) maps to its own form. */
export type ServiceErrorCode =
  /** The input is malformed or out of range; `field` names it. */
  | 'invalid_input'
  /** The thing asked for does not exist. */
  | 'not_found'
  /** A response_id was reused with a different body. */
  | 'idempotency_conflict'
  /** The database cannot be reached, or a lock or connection wait timed out: retry later. */
  | 'unavailable';

export class ServiceError extends Error {
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ServiceError';
  }
}

export function isServiceError(e: unknown): e is ServiceError {
  return e instanceof ServiceError;
}
