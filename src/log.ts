// Structured logging: one pino JSON logger per node; tokens and Authorization headers are redacted at the source,
// errors are logged as `{ err }` through one serializer that never carries SQL text (it may hold token hashes).
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

function serializeError(err: unknown): unknown {
  if (!(err instanceof Error)) return err;
  const out = pino.stdSerializers.err(err) as Record<string, unknown>;
  delete out.sql;
  return out;
}

export function createLogger(level: string, nodeId: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { node: nodeId },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ["token", "*.token", "authorization", "*.authorization", "headers.authorization"], remove: true },
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: serializeError },
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
