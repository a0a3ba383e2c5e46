// Contract errors: one base class with a stable code and HTTP status, one subclass per contract error (contract §1).
export type ErrorDetail = { path: string; message: string };

export abstract class RegistrarError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
  details?: ErrorDetail[];
  headers?: [string, string][];
}

export class InvalidJsonError extends RegistrarError { readonly code = "invalid_json"; readonly status = 400; }
export class ValidationError extends RegistrarError {
  readonly code = "validation_failed";
  readonly status = 400;
  constructor(message: string, details: ErrorDetail[] = []) {
    super(message);
    this.details = details;
  }
}
export class UnauthorizedError extends RegistrarError { readonly code = "unauthorized"; readonly status = 401; }
export class TokenExpiredError extends RegistrarError { readonly code = "token_expired"; readonly status = 401; }
export class NotOwnerError extends RegistrarError { readonly code = "not_owner"; readonly status = 403; }
export class NotFoundError extends RegistrarError { readonly code = "not_found"; readonly status = 404; }
export class MethodNotAllowedError extends RegistrarError {
  readonly code = "method_not_allowed";
  readonly status = 405;
  constructor(allow: string[]) {
    super(`method not allowed; use ${allow.join(", ")}`);
    this.headers = [["Allow", allow.join(", ")]];
  }
}
export class DomainTakenError extends RegistrarError { readonly code = "domain_taken"; readonly status = 409; }
export class PayloadTooLargeError extends RegistrarError { readonly code = "payload_too_large"; readonly status = 413; }
export class UnsupportedMediaTypeError extends RegistrarError { readonly code = "unsupported_media_type"; readonly status = 415; }
export class RateLimitedError extends RegistrarError {
  readonly code = "rate_limited";
  readonly status = 429;
  constructor(retryAfterS: number) {
    super(`too many requests; retry in ${retryAfterS} s`);
    this.headers = [["Retry-After", String(retryAfterS)]];
  }
}
export class UnavailableError extends RegistrarError { readonly code = "unavailable"; readonly status = 503; }
/** This node no longer owns the shard (it moved); the edge retries at the new owner, else the client sees 503. */
export class ShardMovedError extends UnavailableError {}

/** The error envelope of contract §1. */
export function errorBody(err: RegistrarError): string {
  const error: Record<string, unknown> = { code: err.code, message: err.message };
  if (err.details && err.details.length > 0) error.details = err.details;
  return JSON.stringify({ error });
}

const STORE_DOWN_CODES = new Set([
  "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "PROTOCOL_CONNECTION_LOST", "ER_CON_COUNT_ERROR",
  "PROTOCOL_SEQUENCE_TIMEOUT", "EHOSTUNREACH", "ENOTFOUND", "POOL_CLOSED", "ER_SERVER_SHUTDOWN",
  "ER_LOCK_WAIT_TIMEOUT", "ER_LOCK_DEADLOCK", "ER_QUERY_INTERRUPTED",
]);

/** True when a mysql2 error means "the store cannot take this write right now" rather than a bug. */
export function isStoreUnavailable(err: unknown): boolean {
  const e = err as { code?: string; fatal?: boolean; message?: string } | null;
  if (!e) return false;
  if (e.code && STORE_DOWN_CODES.has(e.code)) return true;
  if (e.fatal) return true;
  return /connect|closed state|Pool is closed|timeout/i.test(e.message ?? "");
}
