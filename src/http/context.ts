// A request's facts copied out of uWebSockets.js synchronously (the HttpRequest dies after the handler returns).
import { randomBytes } from "node:crypto";
import type { HttpRequest, HttpResponse } from "uWebSockets.js";

export type RequestContext = {
  res: HttpResponse;
  method: string;
  route: string;
  url: string;
  query: string;
  params: string[];
  requestId: string;
  ip: string;
  origin: string | undefined;
  authorization: string | undefined;
  contentType: string | undefined;
  contentLength: string | undefined;
  /** For ETag revalidation (304); undefined when absent. */
  ifNoneMatch: string | undefined;
  /** For gzip/brotli answers (contract §9.2); undefined when absent. */
  acceptEncoding: string | undefined;
  chunked: boolean;
  /** Served in the legacy dialect (contract §7): string errors, deprecation headers. */
  legacy: boolean;
  /** The PATH_PREFIX this request came under, or "" (contract §7). */
  prefix: string;
  startedMs: number;
  aborted: boolean;
  /** Run once when the client goes away before the response (uWS allows one onAborted handler per response). */
  onAbort: (() => void)[];
  done: boolean;
  /** Extra headers for the eventual response (rate-limit state, …). */
  headers: [string, string][];
  /** The :domain parameter once parsed (src/http/routes/params.ts requestDomain); undefined until then. */
  domain: string | null | undefined;
};

/**
 * The client address from the socket peer and, when the resolver trusts the peer, a forwarding header: `lines(name)`
 * reads every line of that header (called only then, and only during the request's handler).
 */
export type ResolveIp = (peer: string, lines: (name: string) => string | undefined) => string;

/**
 * Every line of a header joined with "," in order, or undefined when absent or empty: uWS's getHeader returns only
 * the first line, and a proxy that adds its own line after the client's must not be hidden by it (review M2).
 */
export function headerLines(req: HttpRequest, name: string): string | undefined {
  let joined: string | undefined;
  req.forEach((key, value) => {
    if (key === name && value !== "") joined = joined === undefined ? value : `${joined},${value}`;
  });
  return joined;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

// A random per-process prefix and a counter: unique across nodes and restarts without a UUID per request.
const ID_PREFIX = randomBytes(6).toString("hex");
let idCounter = 0;
function nextRequestId(): string {
  return `${ID_PREFIX}-${(idCounter++).toString(36)}`;
}

// The peer address arrives as UTF-8 bytes; TextDecoder reads them without a Buffer in between.
const ADDRESS_TEXT = new TextDecoder();

/** The client address of a request or a WebSocket upgrade: the peer, or what a trusted proxy says (contract §3). */
export function clientIpOf(res: HttpResponse, req: HttpRequest, resolveIp: ResolveIp): string {
  return resolveIp(ADDRESS_TEXT.decode(res.getRemoteAddressAsText()), (name) => headerLines(req, name));
}

export function readContext(
  res: HttpResponse,
  req: HttpRequest,
  route: string,
  paramCount: number,
  legacy: boolean,
  resolveIp: ResolveIp,
  prefix = "",
): RequestContext {
  const incomingId = req.getHeader("x-request-id");
  const params: string[] = [];
  for (let i = 0; i < paramCount; i++) params.push(req.getParameter(i) ?? "");
  const ctx: RequestContext = {
    res,
    method: req.getMethod().toUpperCase(),
    route,
    url: req.getUrl(),
    query: req.getQuery() ?? "",
    params,
    requestId: REQUEST_ID.test(incomingId) ? incomingId : nextRequestId(),
    ip: clientIpOf(res, req, resolveIp),
    origin: req.getHeader("origin") || undefined,
    authorization: req.getHeader("authorization") || undefined,
    contentType: req.getHeader("content-type") || undefined,
    contentLength: req.getHeader("content-length") || undefined,
    ifNoneMatch: req.getHeader("if-none-match") || undefined,
    acceptEncoding: req.getHeader("accept-encoding") || undefined,
    chunked: /chunked/i.test(req.getHeader("transfer-encoding")),
    legacy,
    prefix,
    startedMs: performance.now(),
    aborted: false,
    onAbort: [],
    done: false,
    headers: [],
    domain: undefined,
  };
  res.onAborted(() => {
    ctx.aborted = true;
    for (const hook of ctx.onAbort) hook();
  });
  return ctx;
}
