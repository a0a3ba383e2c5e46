// Which store errors mean "MySQL cannot take this write right now" (answered 503) rather than a bug (500).

const STORE_DOWN_CODES = new Set([
  "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "PROTOCOL_CONNECTION_LOST", "ER_CON_COUNT_ERROR",
  "PROTOCOL_SEQUENCE_TIMEOUT", "EHOSTUNREACH", "ENOTFOUND", "POOL_CLOSED", "ER_SERVER_SHUTDOWN",
  "ER_LOCK_WAIT_TIMEOUT", "ER_LOCK_DEADLOCK", "ER_QUERY_INTERRUPTED", "PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR",
  "PROTOCOL_ENQUEUE_AFTER_QUIT", "ER_CLIENT_INTERACTION_TIMEOUT",
  // The pool running dry (src/store/db.ts names these): contract §10, a 503 and never a 500.
  "POOL_QUEUE_FULL", "POOL_ACQUIRE_TIMEOUT",
]);

/**
 * True when a mysql2 error means the store is unreachable or overloaded: by its code, or because mysql2 marked the
 * connection fatal. A message is never matched (review: a bug whose text said "timeout" came out as a retryable 503).
 */
export function isStoreUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; fatal?: unknown } | null;
  if (!e || typeof e !== "object") return false;
  if (typeof e.code === "string" && STORE_DOWN_CODES.has(e.code)) return true;
  return e.fatal === true;
}
