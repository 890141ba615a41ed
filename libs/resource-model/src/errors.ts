/**
 * One family of errors shared by the API, the API client, the controller SDK and the CLI.
 * Each maps to exactly one HTTP status (in the API's error middleware) and back (in the client).
 * `isTugboatError` recognises them across package copies by a brand, not by `instanceof`.
 */

export interface ErrorDetail {
  /** JSON path of the offending field, e.g. `spec.replicas` or `metadata.name`. */
  path: string;
  /** The rule that was broken, e.g. `required`, `dns-label`, `additionalProperties`. */
  rule: string;
  message?: string;
}

export type ErrorCode =
  | 'InvalidInput'
  | 'Unauthenticated'
  | 'Forbidden'
  | 'NotFound'
  | 'Conflict'
  | 'Gone'
  | 'PayloadTooLarge'
  | 'Terminal'
  | 'Unavailable'
  | 'Internal';

const BRAND = Symbol.for('tugboat.error');

export interface TugboatErrorOptions {
  details?: ErrorDetail[];
  cause?: unknown;
}

export abstract class TugboatError extends Error {
  readonly [BRAND] = true;
  abstract readonly code: ErrorCode;
  abstract readonly status: number;
  readonly details: ErrorDetail[];

  constructor(message: string, options: TugboatErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.details = options.details ?? [];
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: ErrorDetail[] };
}

/** 400 / 422: the request is malformed or breaks a rule. Retrying the same request will not help. */
export class InputError extends TugboatError {
  readonly code = 'InvalidInput' as const;
  readonly status: number;
  constructor(message: string, options: TugboatErrorOptions & { status?: 400 | 422 } = {}) {
    super(message, options);
    this.status = options.status ?? 400;
  }
}

export class UnauthenticatedError extends TugboatError {
  readonly code = 'Unauthenticated' as const;
  readonly status = 401;
}

export class ForbiddenError extends TugboatError {
  readonly code = 'Forbidden' as const;
  readonly status = 403;
}

export class NotFoundError extends TugboatError {
  readonly code = 'NotFound' as const;
  readonly status = 404;
}

/** 409: a stale resourceVersion, a name already taken, or a delete blocked by dependents. */
export class ConflictError extends TugboatError {
  readonly code = 'Conflict' as const;
  readonly status = 409;
}

/** 410: a watch cursor too old to resume from; re-list. */
export class GoneError extends TugboatError {
  readonly code = 'Gone' as const;
  readonly status = 410;
}

export class PayloadTooLargeError extends TugboatError {
  readonly code = 'PayloadTooLarge' as const;
  readonly status = 413;
}

/** Thrown by reconcile code: do not retry; the object is marked Failed at its generation. */
export class TerminalError extends TugboatError {
  readonly code = 'Terminal' as const;
  readonly status = 422;
}

/** 503: try again later (the database or the bus is not reachable, or the API is full). */
export class UnavailableError extends TugboatError {
  readonly code = 'Unavailable' as const;
  readonly status = 503;
  /** Sent as `Retry-After` by the API; the client may wait this long before trying again. */
  readonly retryAfterSeconds: number | undefined;
  constructor(message: string, options: TugboatErrorOptions & { retryAfterSeconds?: number } = {}) {
    super(message, options);
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

export class InternalError extends TugboatError {
  readonly code = 'Internal' as const;
  readonly status = 500;
}

export function isTugboatError(value: unknown): value is TugboatError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

export function isErrorCode(value: unknown, code: ErrorCode): boolean {
  return isTugboatError(value) && value.code === code;
}

/** Rebuilds the typed error from an HTTP status and an API error body (used by the API client). */
export function errorFromBody(status: number, body: unknown): TugboatError {
  const parsed = (body as Partial<ErrorBody> | undefined)?.error;
  // An answer without the API's error body came from something else (a proxy, the wrong address).
  const message = typeof parsed?.message === 'string' ? parsed.message : `HTTP ${status}, and the answer is not a Tugboat API error: check that the server address is the Tugboat API`;
  const options: TugboatErrorOptions = { details: Array.isArray(parsed?.details) ? parsed.details : [] };
  switch (status) {
    case 400:
    case 422:
      return parsed?.code === 'Terminal' ? new TerminalError(message, options) : new InputError(message, { ...options, status });
    case 401:
      return new UnauthenticatedError(message, options);
    case 403:
      return new ForbiddenError(message, options);
    case 404:
      return new NotFoundError(message, options);
    case 409:
      return new ConflictError(message, options);
    case 410:
      return new GoneError(message, options);
    case 413:
      return new PayloadTooLargeError(message, options);
    case 503:
      return new UnavailableError(message, options);
    default:
      return new InternalError(message, options);
  }
}
