// Writes responses: corked, skipped when aborted, with request id, CORS, deprecation headers and one log line.
import { requestLogger, type Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { errorBody, RegistrarError, UnavailableError, PayloadTooLargeError, UnsupportedMediaTypeError } from "../core/errors.js";
import { isStoreUnavailable } from "../store/unavailable.js";
import { BodyAbortedError } from "./body.js";
import { corsHeaders } from "../security/cors.js";
import { legacyErrorBody, successorUrl } from "./legacy/errors.js";
import type { RequestContext } from "./context.js";
import { hasHeader } from "./representation.js";

const CLIENT_CLOSED = 499;

const STATUS_TEXT: Record<number, string> = {
  200: "200 OK", 201: "201 Created", 204: "204 No Content", 304: "304 Not Modified", 400: "400 Bad Request", 401: "401 Unauthorized",
  403: "403 Forbidden", 404: "404 Not Found", 405: "405 Method Not Allowed", 409: "409 Conflict",
  413: "413 Payload Too Large", 415: "415 Unsupported Media Type", 429: "429 Too Many Requests",
  // Never written (the client is gone); logged and counted under nginx's "client closed request".
  [CLIENT_CLOSED]: "499 Client Closed Request",
  500: "500 Internal Server Error", 503: "503 Service Unavailable",
};

/** Headers of a reply whose body carries a token (registration, rotation, recovery). */
export const TOKEN_REPLY_HEADERS: [string, string][] = [["Cache-Control", "no-store"]];

// Shared by every send without extra headers; never written to.
const NO_HEADERS: [string, string][] = [];

export type Responder = {
  /**
   * Requests started and not yet answered, for graceful shutdown. A request whose client went away still counts
   * until its handler ends (its write may be half-way); an aborted body ends it at once (src/http/body.ts).
   */
  readonly active: number;
  begin(): void;
  send(ctx: RequestContext, status: number, body: string | Buffer | null, headers?: [string, string][], closeConnection?: boolean): void;
  fail(ctx: RequestContext, err: unknown): void;
};

export function createResponder(log: Logger, metrics: Metrics, corsOrigins: Set<string>): Responder {
  // prom-client hashes the label set on every labels() call; keep each child (bounded: routes × methods × statuses).
  const children = new Map<string, ReturnType<Metrics["httpDuration"]["labels"]>>();
  // Token refusals on any route (registrar_auth_failures_total); server sessions count theirs in src/ws.
  const authFailures = { unauthorized: metrics.authFailures.labels("unauthorized"), token_expired: metrics.authFailures.labels("token_expired") };
  const histogramFor = (route: string, method: string, status: number) => {
    const key = `${route} ${method} ${status}`;
    let child = children.get(key);
    if (!child) children.set(key, (child = metrics.httpDuration.labels(route, method, String(status))));
    return child;
  };
  const logRequest = requestLogger(log);
  function send(ctx: RequestContext, status: number, body: string | Buffer | null, headers: [string, string][] = NO_HEADERS, closeConnection = false): void {
    if (ctx.done) return;
    ctx.done = true;
    active--;
    const durationMs = performance.now() - ctx.startedMs;
    logRequest(ctx.requestId, ctx.ip, ctx.method, ctx.route, status, durationMs);
    histogramFor(ctx.route, ctx.method, status).observe(durationMs / 1000);
    if (ctx.aborted) return;
    const res = ctx.res;
    res.cork(() => {
      res.writeStatus(STATUS_TEXT[status] ?? String(status));
      res.writeHeader("X-Request-Id", ctx.requestId);
      // Review L6: no content sniffing on any response; nothing sent to a token holder, or carrying a token, is kept by
      // a shared cache or the browser (handlers mark the anonymous replies that carry one: TOKEN_REPLY_HEADERS).
      res.writeHeader("X-Content-Type-Options", "nosniff");
      if (ctx.authorization !== undefined && !hasHeader(headers, "Cache-Control")) res.writeHeader("Cache-Control", "no-store");
      if (body !== null && !hasHeader(headers, "Content-Type")) res.writeHeader("Content-Type", "application/json");
      for (const [k, v] of corsHeaders(ctx.origin, corsOrigins, ctx.method === "OPTIONS")) res.writeHeader(k, v);
      if (ctx.legacy) {
        res.writeHeader("Deprecation", "true");
        res.writeHeader("Link", `<${successorUrl(ctx.url, ctx.prefix)}>; rel="successor-version"`);
      }
      for (const [k, v] of ctx.headers) res.writeHeader(k, v);
      for (const [k, v] of headers) res.writeHeader(k, v);
      if (status === 204) res.endWithoutBody(0, closeConnection);
      // RFC 9110 §15.4.5: a 304 has no body. Without a reported length uWS ends the message by closing the
      // connection, which kills keep-alive clients' next request; it then reports Content-Length: 0.
      else if (status === 304) res.endWithoutBody(0, closeConnection);
      else if (ctx.method === "HEAD") res.endWithoutBody(body === null ? 0 : Buffer.byteLength(body), closeConnection);
      else res.end(body ?? "", closeConnection);
    });
  }

  function fail(ctx: RequestContext, err: unknown): void {
    if (err instanceof BodyAbortedError) {
      send(ctx, CLIENT_CLOSED, null);
      return;
    }
    if (err instanceof RegistrarError) {
      // A body we refused mid-stream leaves unread bytes on the socket: close it rather than parse garbage.
      const close = err instanceof PayloadTooLargeError || err instanceof UnsupportedMediaTypeError;
      if (err.code === "unauthorized" || err.code === "token_expired") authFailures[err.code].inc();
      send(ctx, err.status, ctx.legacy ? legacyErrorBody(err) : errorBody(err), err.headers, close);
      return;
    }
    if (isStoreUnavailable(err)) {
      metrics.storeErrors.labels(ctx.route).inc();
      log.warn({ req_id: ctx.requestId, err }, "store unavailable");
      const unavailable = new UnavailableError("the directory store cannot take writes right now; retry shortly");
      send(ctx, 503, ctx.legacy ? legacyErrorBody(unavailable) : errorBody(unavailable), [["Retry-After", "1"]]);
      return;
    }
    log.error({ req_id: ctx.requestId, err }, "unhandled error");
    send(ctx, 500, JSON.stringify(ctx.legacy ? { error: "Internal error" } : { error: { code: "internal", message: "internal error" } }));
  }

  let active = 0;
  return {
    get active() {
      return active;
    },
    begin: () => void active++,
    send,
    fail,
  };
}
