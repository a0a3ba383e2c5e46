// WebSocket close codes of contract §4 and §5, and the mapping from contract errors to them.
export const CloseCode = {
  /** Normal close (client asked, or nothing more to say). */
  normal: 1000,
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

/** The close code for an error from the actors (identify, heartbeat); null for unexpected errors (then 1011). */
export function closeCodeForError(err: unknown): CloseCode | null {
  if (err instanceof CloseError) return err.code;
  // By contract code rather than class: errors may come back from a shard owner on another node.
  const code = (err as { code?: unknown } | null)?.code;
  // Contract §4: wrong or malformed token, unknown domain and expired token all close with 4001; a mirrored
  // record (403 over HTTP) cannot be heartbeated here either.
  if (code === "unauthorized" || code === "token_expired" || code === "not_owner") return CloseCode.authenticationFailed;
  if (code === "validation_failed" || code === "invalid_json") return CloseCode.invalidMessage;
  // No node owns the server right now (cluster re-balancing): transient, the client should come back shortly.
  if (code === "unavailable") return CloseCode.tryAgainLater;
  return null;
}

const MAX_REASON_BYTES = 123; // RFC 6455 §5.5: control frame payload ≤ 125 bytes, 2 of them for the code.

/** Clips a close reason to what fits in a close frame (by bytes, on a character boundary). */
export function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= MAX_REASON_BYTES) return text;
  let out = text.slice(0, MAX_REASON_BYTES);
  while (Buffer.byteLength(out) > MAX_REASON_BYTES) out = out.slice(0, -1);
  return out;
}
