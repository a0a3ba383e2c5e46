// WebSocket close codes of contract §4 and §5, and the mapping from contract errors to them.
import { RegistrarError, type ErrorCode } from "../core/errors.js";

export const CloseCode = {
  /** Normal close (client asked, or nothing more to say). */
  normal: 1000,
  /** Refused by policy: too many feed connections from one client address (contract §10). */
  policyViolation: 1008,
  /** Unexpected failure inside the registrar. */
  internalError: 1011,
  /** Registrar node shutting down: reconnect, possibly to another node. */
  restarting: 1012,
  /** Slow consumer: the client did not read fast enough (contract §5.4). */
  tryAgainLater: 1013,
  invalidMessage: 4000,
  authenticationFailed: 4001,
  unsupportedProtocol: 4002,
  identifyTimeout: 4003,
  alreadyIdentified: 4004,
  rateLimited: 4008,
  heartbeatTimeout: 4009,
  sessionReplaced: 4010,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** A reason to close a connection, thrown by message handlers and turned into `ws.end(code, reason)` once. */
export class CloseError extends Error {
  constructor(
    readonly code: CloseCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The close code of each contract error on a WebSocket; null = none (the error cannot happen on a socket, or is
 * unexpected there: then 1011). Exhaustive: a new ErrorCode without a row fails to compile (docs/api.md, Errors).
 */
export const CLOSE_CODE_FOR_ERROR: Record<ErrorCode, CloseCode | null> = {
  invalid_json: CloseCode.invalidMessage,
  validation_failed: CloseCode.invalidMessage,
  // Contract §4: wrong or malformed token, unknown domain and expired token all close with 4001; a mirrored
  // record (403 over HTTP) cannot be heartbeated here either.
  unauthorized: CloseCode.authenticationFailed,
  token_expired: CloseCode.authenticationFailed,
  not_owner: CloseCode.authenticationFailed,
  invalid_assertion: null,
  banned: null,
  not_found: null,
  method_not_allowed: null,
  domain_taken: null,
  payload_too_large: null,
  unsupported_media_type: null,
  verification_failed: null,
  // Sessions have their own message limit (4008, a CloseError); an HTTP 429 never reaches a socket.
  rate_limited: null,
  // No node owns the server right now (cluster re-balancing): transient, the client should come back shortly.
  unavailable: CloseCode.tryAgainLater,
};

/** The close code for an error from the actors (identify, heartbeat); null for unexpected errors (then 1011). */
export function closeCodeForError(err: unknown): CloseCode | null {
  if (err instanceof CloseError) return err.code;
  if (err instanceof RegistrarError) return CLOSE_CODE_FOR_ERROR[err.code];
  // Errors from a shard owner come back as their real class; a bare `{code}` is still read by its contract code.
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && Object.hasOwn(CLOSE_CODE_FOR_ERROR, code) ? CLOSE_CODE_FOR_ERROR[code as ErrorCode] : null;
}

const MAX_REASON_BYTES = 123; // RFC 6455 §5.5: control frame payload ≤ 125 bytes, 2 of them for the code.

/** Clips a close reason to what fits in a close frame (by bytes, on a character boundary). */
export function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= MAX_REASON_BYTES) return text;
  let out = text.slice(0, MAX_REASON_BYTES);
  while (Buffer.byteLength(out) > MAX_REASON_BYTES) out = out.slice(0, -1);
  return out;
}
