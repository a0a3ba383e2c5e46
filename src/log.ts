// Structured logging: one pino JSON logger per node; tokens and Authorization headers are redacted at the source,
// errors are logged as `{ err }` through one serializer that never carries SQL text or the values in it.
import pino from "pino";

export type Logger = pino.Logger;

/** Fields of an error object that are never logged: mysql2 puts the statement with its values in `sql`. */
const WITHHELD = new Set(["sql", "sqlMessage", "parameters", "values", "stack", "message", "cause", "name"]);
const MAX_CAUSES = 4;

/** A MySQL server or driver error: its message may quote the values of the statement (Duplicate entry '…'). */
function isSqlError(err: Error): boolean {
  const e = err as Error & { sqlState?: unknown; sqlMessage?: unknown; sql?: unknown };
  return e.sqlState !== undefined || e.sqlMessage !== undefined || e.sql !== undefined;
}

/**
 * MySQL quotes both names and values with '…'. Names (after key, column, table, …) stay, since they say what
 * failed; every other quoted text is a value and becomes '…' (review L4: webhook secrets, token hashes, comments).
 */
export function withoutSqlValues(message: string): string {
  return message.replace(/(\b(?:key|column|table|database|index|constraint|field|variable|procedure|function|user)\s+)?'(?:[^'\\]|\\.|'')*'/gi, (quoted, name) =>
    name ? quoted : "'…'",
  );
}

function framesOf(stack: string): string {
  const at = stack.indexOf("\n    at ");
  return at < 0 ? "" : stack.slice(at);
}

function serializeError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error)) return err;
  const sql = isSqlError(err);
  const message = sql ? withoutSqlValues(err.message) : err.message;
  const out: Record<string, unknown> = { type: err.constructor?.name ?? "Error", message };
  // The stack's first line repeats the message: rebuild it from the safe one.
  if (err.stack) out.stack = sql ? `${err.name}: ${message}${framesOf(err.stack)}` : err.stack;
  for (const [k, v] of Object.entries(err)) {
    if (WITHHELD.has(k)) continue;
    if (v === null || ["string", "number", "boolean"].includes(typeof v)) out[k] = v;
  }
  if (err.cause !== undefined && depth < MAX_CAUSES) out.cause = serializeError(err.cause, depth + 1);
  return out;
}

export function createLogger(level: string, nodeId: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { node: nodeId },
      timestamp: pino.stdTimeFunctions.isoTime,
      // `sql` and `sqlMessage` as a second line of defence, should an error ever be logged under another key.
      redact: {
        paths: ["token", "*.token", "authorization", "*.authorization", "headers.authorization", "sql", "*.sql", "sqlMessage", "*.sqlMessage"],
        remove: true,
      },
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: (err: unknown) => serializeError(err) },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
