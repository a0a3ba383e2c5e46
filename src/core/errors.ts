// Contract errors (contract §1): the code table, one class per code, and their wire form between nodes.
import { z } from "zod";

/** Every contract error code with its HTTP status. A new code is one line here (the compiler then asks for the rest). */
export const ERROR_STATUS = {
  invalid_json: 400,
  validation_failed: 400,
  unauthorized: 401,
  token_expired: 401,
  invalid_assertion: 401,
  not_owner: 403,
  banned: 403,
  not_found: 404,
  method_not_allowed: 405,
  domain_taken: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  verification_failed: 422,
  rate_limited: 429,
  unavailable: 503,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

/** `reason`: a stable name for why, where a code has several (verification_failed, contract §8.1; docs/trust.md). */
export type ErrorDetail = { path: string; message: string; reason?: string };

/** The token checks' answers, one wording wherever a token is checked (actors, webhook routes). */
export const AUTH_MESSAGES = {
  /** Unknown domain, wrong or malformed token: the same words, so existence is not leaked (contract §1). */
  unauthorized: "missing, malformed or wrong bearer token",
  tokenExpired: "token expired: rotate tokens before they expire (the registrar operator can reissue one)",
} as const;

export abstract class RegistrarError extends Error {
  abstract readonly code: ErrorCode;
  details?: ErrorDetail[];
  headers?: [string, string][];
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export class InvalidJsonError extends RegistrarError { readonly code = "invalid_json"; }
export class ValidationError extends RegistrarError {
  readonly code = "validation_failed";
  constructor(message: string, details: ErrorDetail[] = []) {
    super(message);
    this.details = details;
  }
}
export class UnauthorizedError extends RegistrarError { readonly code = "unauthorized"; }
export class TokenExpiredError extends RegistrarError { readonly code = "token_expired"; }
/** Contract §8.3: an identity assertion that is malformed, expired, replayed, for another audience or badly signed. */
export class InvalidAssertionError extends RegistrarError { readonly code = "invalid_assertion"; }
export class NotOwnerError extends RegistrarError { readonly code = "not_owner"; }
/** Contract §8.5: registration or recovery of a domain the operator banned. */
export class BannedError extends RegistrarError { readonly code = "banned"; }
export class NotFoundError extends RegistrarError { readonly code = "not_found"; }
export class MethodNotAllowedError extends RegistrarError {
  readonly code = "method_not_allowed";
  constructor(allow: string[]) {
    super(`method not allowed; use ${allow.join(", ")}`);
    this.headers = [["Allow", allow.join(", ")]];
  }
}
export class DomainTakenError extends RegistrarError { readonly code = "domain_taken"; }
export class PayloadTooLargeError extends RegistrarError { readonly code = "payload_too_large"; }
export class UnsupportedMediaTypeError extends RegistrarError { readonly code = "unsupported_media_type"; }
/** Contract §8.1: the proof of domain control was not found; `details` say why. */
export class VerificationFailedError extends RegistrarError {
  readonly code = "verification_failed";
  constructor(message: string, details: ErrorDetail[] = []) {
    super(message);
    this.details = details;
  }
}
export class RateLimitedError extends RegistrarError {
  readonly code = "rate_limited";
  constructor(retryAfterS: number) {
    super(`too many requests; retry in ${retryAfterS} s`);
    this.headers = [["Retry-After", String(retryAfterS)]];
  }
}
export class UnavailableError extends RegistrarError { readonly code = "unavailable"; }
/** This node no longer owns the shard (it moved); the edge retries at the new owner, else the client sees 503. */
export class ShardMovedError extends UnavailableError {}

/** Builds the class of each code from a message (the table is exhaustive: a new code without a class fails to compile). */
const FACTORY: { [C in ErrorCode]: (message: string) => RegistrarError } = {
  invalid_json: (m) => new InvalidJsonError(m),
  validation_failed: (m) => new ValidationError(m),
  unauthorized: (m) => new UnauthorizedError(m),
  token_expired: (m) => new TokenExpiredError(m),
  invalid_assertion: (m) => new InvalidAssertionError(m),
  not_owner: (m) => new NotOwnerError(m),
  banned: (m) => new BannedError(m),
  not_found: (m) => new NotFoundError(m),
  method_not_allowed: (m) => Object.assign(new MethodNotAllowedError([]), { message: m }),
  domain_taken: (m) => new DomainTakenError(m),
  payload_too_large: (m) => new PayloadTooLargeError(m),
  unsupported_media_type: (m) => new UnsupportedMediaTypeError(m),
  verification_failed: (m) => new VerificationFailedError(m),
  rate_limited: (m) => Object.assign(new RateLimitedError(0), { message: m }),
  unavailable: (m) => new UnavailableError(m),
};

/** A contract error as it crosses between nodes: `{code, …}`, rebuilt as its real class by errorFromWire. */
export const WireError = z.strictObject({
  code: z.enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]]),
  message: z.string().max(2000),
  details: z.array(z.strictObject({ path: z.string().max(2100), message: z.string().max(500), reason: z.string().max(64).optional() })).max(100).optional(),
  headers: z.array(z.tuple([z.string().max(100), z.string().max(1000)])).max(10).optional(),
  /** The owner lost the shard: the edge retries at the new owner (ShardMovedError). */
  shardMoved: z.literal(true).optional(),
});
export type WireError = z.infer<typeof WireError>;

/** Rebuilds the real error class of a contract code (errors that crossed a node keep `instanceof`). */
export function errorFromCode(code: ErrorCode, message: string, extra: { details?: ErrorDetail[]; headers?: [string, string][] } = {}): RegistrarError {
  const err = FACTORY[code](message);
  if (extra.details !== undefined) err.details = extra.details;
  if (extra.headers !== undefined) err.headers = extra.headers;
  return err;
}

export function errorToWire(err: RegistrarError): WireError {
  const w: WireError = { code: err.code, message: err.message };
  if (err.details !== undefined) w.details = err.details;
  if (err.headers !== undefined) w.headers = err.headers;
  if (err instanceof ShardMovedError) w.shardMoved = true;
  return w;
}

export function errorFromWire(w: WireError): RegistrarError {
  if (w.shardMoved) return new ShardMovedError(w.message);
  return errorFromCode(w.code, w.message, w);
}

/** The error envelope of contract §1. */
export function errorBody(err: RegistrarError): string {
  const error: Record<string, unknown> = { code: err.code, message: err.message };
  if (err.details && err.details.length > 0) error.details = err.details;
  return JSON.stringify({ error });
}
