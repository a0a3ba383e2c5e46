// Structured logging: one pino JSON logger per node; tokens and Authorization headers are redacted at the source,
// errors are logged as `{ err }` through one serializer that never carries SQL text or the values in it.
// Production logs one line per request, so the destination is asynchronous and buffered (written in blocks of
// LOG_BLOCK_BYTES, at the latest every LOG_FLUSH_MS, synchronously on exit), and the request line has its own
// writer (requestLogger) that builds the same JSON pino would with one string concatenation.
import pino from "pino";
import { isoTime } from "./core/iso-time.js";

export type Logger = pino.Logger;

/** Bytes buffered before a write(2); well under sonic-boom's 16 KiB maxWrite. */
const LOG_BLOCK_BYTES = 8192;
/** A quiet node still gets its lines out within this long. */
const LOG_FLUSH_MS = 200;

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
    // pino registers this stream for a synchronous flush on process exit (sync: false).
    destination ?? pino.destination({ dest: 1, sync: false, minLength: LOG_BLOCK_BYTES, periodicFlush: LOG_FLUSH_MS }),
  );
}

export type RequestLogger = (reqId: string, ip: string, method: string, route: string, status: number, durationMs: number) => void;

const INFO = pino.levels.values.info;
// Text that needs no JSON escaping (printable ASCII without quote or backslash); anything else goes through JSON.
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const jsonText = (s: string) => (PLAIN.test(s) ? `"${s}"` : JSON.stringify(s));

/**
 * The per-request line `{"level":"info","time":…,<bindings>,"req_id":…,"ip":…,"method":…,"route":…,"status":…,
 * "duration_ms":…,"msg":"request"}`, byte for byte what `log.info({...}, "request")` writes, written straight to
 * the logger's stream: no object, no serializer or redaction pass (none of these fields can hold a secret), and
 * nothing at all when info is off. The ISO time is reused within a millisecond.
 */
export function requestLogger(log: Logger): RequestLogger {
  const stream = (log as unknown as Record<symbol, pino.DestinationStream>)[pino.symbols.streamSym];
  const bindings = (log as unknown as Record<symbol, string>)[pino.symbols.chindingsSym];
  let lastMs = -1;
  let head = "";
  return (reqId, ip, method, route, status, durationMs) => {
    if (log.levelVal > INFO) return;
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      head = `{"level":"info","time":"${isoTime(now)}"${bindings}`;
    }
    stream.write(
      `${head},"req_id":${jsonText(reqId)},"ip":${jsonText(ip)},"method":${jsonText(method)},"route":${jsonText(route)},"status":${status},"duration_ms":${Math.round(durationMs * 1000) / 1000},"msg":"request"}\n`,
    );
  };
}
