// What every registrar WebSocket connection keeps and obeys: the closed flag, the per-connection message rate
// window, the 16 KiB message limit, JSON decoding, and closing with a contract code exactly once.
import type { WebSocket } from "uWebSockets.js";
import type { RateLimit } from "../security/rate-limit.js";
import { CloseCode, CloseError, closeReason } from "./close-codes.js";

export type ConnectionState = {
  /** Set before `end()` and in the close handler: after it, the uWS socket must not be touched. */
  closed: boolean;
  rateWindowStartMs: number;
  rateCount: number;
};

export type InboundLimits = {
  /** Contract §4: each frame ≤ 16 KiB; more closes with 4000. */
  maxMessageBytes: number;
  /** WS_RATE_LIMIT per connection; null when off. */
  rate: RateLimit | null;
};

export const INBOUND_DEFAULTS = { maxMessageBytes: 16 * 1024 } as const;

export function newConnectionState(): ConnectionState {
  return { closed: false, rateWindowStartMs: 0, rateCount: 0 };
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Checks one incoming frame against the connection's limits and decodes it to a JSON object with a known `op`;
 * throws CloseError with the contract's code otherwise. The ArrayBuffer is only valid during the uWS callback,
 * so it is decoded here, synchronously.
 */
export function decodeMessage(
  conn: ConnectionState,
  message: ArrayBuffer,
  isBinary: boolean,
  limits: InboundLimits,
  ops: readonly string[],
  nowMs: number,
): { op: string; value: Record<string, unknown> } {
  if (limits.rate) {
    // Fixed windows per connection, starting at the first message after the previous window ended.
    if (nowMs - conn.rateWindowStartMs >= limits.rate.windowS * 1000) {
      conn.rateWindowStartMs = nowMs;
      conn.rateCount = 0;
    }
    if (++conn.rateCount > limits.rate.limit) {
      throw new CloseError(CloseCode.rateLimited, `over ${limits.rate.limit} messages per ${limits.rate.windowS} s`);
    }
  }
  if (message.byteLength > limits.maxMessageBytes) {
    throw new CloseError(CloseCode.invalidMessage, `message over ${limits.maxMessageBytes} bytes`);
  }
  if (isBinary) throw new CloseError(CloseCode.invalidMessage, "expected a JSON text frame");
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(message));
  } catch {
    // SyntaxError or invalid UTF-8: either way the frame is not JSON text.
    throw new CloseError(CloseCode.invalidMessage, "message is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CloseError(CloseCode.invalidMessage, "message must be a JSON object");
  }
  const op = (value as { op?: unknown }).op;
  if (typeof op !== "string" || !ops.includes(op)) {
    throw new CloseError(CloseCode.invalidMessage, typeof op === "string" ? `unknown op ${op.slice(0, 40)}` : "missing op");
  }
  return { op, value: value as Record<string, unknown> };
}

/**
 * Closes with a close frame carrying `code` (at most once; later calls do nothing). Never call it inside
 * `ws.cork()` outside a uWS callback (timers, promise callbacks, shutdown): uWS then sends the close frame but not
 * its FIN, so a strict client (browsers, Node >= 22's global WebSocket) waits for the TCP close that never comes and
 * never reports the close (issue 13; test/integration/ws-close-handshake.test.ts). `end()` is one write: no cork needed.
 */
export function closeConnection<T extends ConnectionState>(ws: WebSocket<T>, code: number, reason: string): void {
  const state = ws.getUserData();
  if (state.closed) return;
  state.closed = true;
  ws.end(code, closeReason(reason));
}

export const SEND_DROPPED = 2;

/**
 * Sends one text frame. A client that lets more than `maxBufferedBytes` pile up is closed with 1013 instead of
 * being buffered without bound; uWS's own maxBackpressure must stay above that bound so neither this frame nor
 * the close frame is dropped silently. Returns false when the connection was closed.
 */
export function sendFrame<T extends ConnectionState>(ws: WebSocket<T>, frame: string, maxBufferedBytes: number): boolean {
  if (ws.getUserData().closed) return false;
  const result = ws.send(frame, false, false);
  if (result === SEND_DROPPED || ws.getBufferedAmount() > maxBufferedBytes) {
    closeConnection(ws, CloseCode.tryAgainLater, "slow consumer: not reading fast enough");
    return false;
  }
  return true;
}
