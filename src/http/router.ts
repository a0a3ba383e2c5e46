// Route table → uWebSockets.js: /v1 routes, bare routes and the legacy dialect's routes (contract §7), each also
// under PATH_PREFIX; HEAD, CORS preflight, 405 with Allow (a legacy path: 404 Not found), and the 404 fallback.
import type { HttpRequest, HttpResponse, TemplatedApp } from "uWebSockets.js";
import { MethodNotAllowedError, NotFoundError, RateLimitedError } from "../core/errors.js";
import { ipLimitKey } from "../security/client-ip.js";
import { domainLimitKey, type RateLimitDecision, type RateLimiter } from "../security/rate-limit.js";
import { hasBody, readJsonBody } from "./body.js";
import { readContext, type RequestContext, type ResolveIp } from "./context.js";
import { legacyNotFound } from "./legacy/errors.js";
import type { OperationDoc } from "./openapi/operation-doc.js";
import type { Responder } from "./respond.js";
import { represent } from "./representation.js";
import { requestDomain } from "./routes/params.js";

export type Reply = { status: number; body?: unknown; raw?: string; bytes?: Buffer; headers?: [string, string][] };
export type Method = "GET" | "POST" | "PUT" | "DELETE";
export type Handler = (ctx: RequestContext, body: unknown) => Promise<Reply> | Reply;
export type RouteSpec = {
  /** Path with :params, e.g. "/servers/:domain": served under /v1 unless `bare` or `dialect: "legacy"`. */
  path: string;
  /**
   * "legacy": a route of the PHP registrar's dialect, served at `path` itself (and with a trailing slash), with
   * string errors and deprecation headers, its body read whatever its Content-Type (contract §7).
   */
  dialect?: "v1" | "legacy";
  /** Served exactly at this path, outside /v1 (e.g. /metrics). */
  bare?: boolean;
  methods: Partial<Record<Method, MethodSpec>>;
};

export type MethodSpec = {
  handler: Handler;
  body?: boolean;
  /** Per client IP (its /64 for IPv6), before anything else is read. */
  limiter?: RateLimiter | null;
  /**
   * Per domain (the route's first parameter), counted only for requests that succeed: one refused for its token,
   * or for anything else, gives its count back, so nobody without the token can spend a domain's budget.
   */
  perDomain?: RateLimiter | null;
  /** What GET /v1/openapi.json says about a /v1 route (required there by test/unit/openapi-document.test.ts). */
  doc?: OperationDoc;
};

export type RouterDeps = {
  respond: Responder;
  resolveIp: ResolveIp;
  maxBodyBytes: number;
  /** PATH_PREFIX ("" for none): every route is also served under it. */
  prefix?: string;
};

const UWS_METHOD = { GET: "get", POST: "post", PUT: "put", DELETE: "del" } as const;

export function mountRoutes(app: TemplatedApp, routes: RouteSpec[], deps: RouterDeps): void {
  const prefixes = deps.prefix ? ["", deps.prefix] : [""];
  for (const route of routes) {
    const legacy = route.dialect === "legacy";
    // Routes log (and count) under their own pattern, whichever prefix or slash they came with.
    const routeName = route.bare || legacy ? route.path : `/v1${route.path}`;
    // Trailing slashes: the PHP registrar's clients may send them (contract §7). The root "/" has none to drop.
    const shapes = legacy && route.path !== "/" ? [routeName, `${routeName}/`] : [routeName];
    for (const prefix of prefixes) {
      for (const shape of shapes) mountOne(app, route, `${prefix}${shape}`, routeName, prefix, legacy, deps);
      // The root under a prefix is also the prefix itself: /registrar as well as /registrar/.
      if (prefix && routeName === "/") mountOne(app, route, prefix, routeName, prefix, legacy, deps);
    }
  }
  app.any("/*", (res: HttpResponse, req: HttpRequest) => {
    const ctx = readContext(res, req, "unmatched", 0, false, deps.resolveIp);
    deps.respond.begin();
    deps.respond.fail(ctx, new NotFoundError(`no route for ${ctx.method} ${ctx.url}`));
  });
}

function mountOne(app: TemplatedApp, route: RouteSpec, pattern: string, routeName: string, prefix: string, legacy: boolean, deps: RouterDeps): void {
  const paramCount = (route.path.match(/:/g) ?? []).length;
  // HEAD is GET without the body (RFC 9110 §9.3.2), on every route that has a GET.
  const allow = [...Object.keys(route.methods), ...(route.methods.GET ? ["HEAD"] : []), "OPTIONS"];
  const context = (res: HttpResponse, req: HttpRequest) => {
    const ctx = readContext(res, req, routeName, paramCount, legacy, deps.resolveIp, prefix);
    deps.respond.begin();
    return ctx;
  };
  for (const [method, spec] of Object.entries(route.methods) as [Method, MethodSpec][]) {
    app[UWS_METHOD[method]](pattern, (res, req) => run(context(res, req), spec, deps));
  }
  const get = route.methods.GET;
  if (get) app.head(pattern, (res, req) => run(context(res, req), get, deps));
  app.options(pattern, (res, req) => deps.respond.send(context(res, req), 204, null, [["Allow", allow.join(", ")]]));
  // A known path with a wrong method: 405 with Allow; the PHP registrar answered 404 Not found (contract §7).
  app.any(pattern, (res, req) => deps.respond.fail(context(res, req), legacy ? legacyNotFound() : new MethodNotAllowedError(allow)));
}

/** RateLimit-* of the limit closest to refusing, when a route has two (recovery: per IP and per domain). */
function rateHeaders(ctx: RequestContext, d: RateLimitDecision): void {
  const at = ctx.headers.findIndex(([k]) => k === "RateLimit-Limit");
  if (at >= 0 && Number(ctx.headers[at + 1][1]) <= d.remaining) return;
  const headers: [string, string][] = [["RateLimit-Limit", String(d.limit)], ["RateLimit-Remaining", String(d.remaining)], ["RateLimit-Reset", String(d.resetS)]];
  if (at >= 0) ctx.headers.splice(at, 3, ...headers);
  else ctx.headers.push(...headers);
}

/** Runs the handler under the domain's budget: reserved now, kept if the handler succeeds, given back if not. */
async function underDomainLimit(ctx: RequestContext, limiter: RateLimiter, run: () => Promise<Reply> | Reply): Promise<Reply> {
  const domain = requestDomain(ctx);
  // A path that is no domain is refused by the handler (401/404) and has no budget to spend.
  if (!domain) return run();
  const held = limiter.reserve(domainLimitKey(domain));
  if (!held.decision.allowed) {
    rateHeaders(ctx, held.decision);
    throw new RateLimitedError(held.decision.retryAfterS);
  }
  try {
    const reply = await run();
    held.commit();
    rateHeaders(ctx, held.decision);
    return reply;
  } catch (err) {
    held.cancel();
    throw err;
  }
}

function run(ctx: RequestContext, spec: MethodSpec, deps: RouterDeps): void {
  if (spec.limiter) {
    const d = spec.limiter.take(ipLimitKey(ctx.ip));
    rateHeaders(ctx, d);
    if (!d.allowed) {
      deps.respond.fail(ctx, new RateLimitedError(d.retryAfterS));
      return;
    }
  }
  // The body must be subscribed to before this handler returns (uWS), so start reading now. Routes that take no
  // body still refuse an oversized or non-JSON one before running (contract §1: a rejected request changes nothing).
  // The PHP registrar read a JSON body whatever its Content-Type said; the legacy dialect does too (contract §7).
  // Most requests (listings, details) carry no body: run the handler now and answer a synchronous reply in this
  // same call, with no promise in between. Routes under a per-domain limit take the common path below.
  if (!spec.perDomain && !hasBody(ctx)) {
    try {
      const reply = spec.handler(ctx, undefined);
      if (reply instanceof Promise) reply.then((r) => sendReply(ctx, r, deps)).catch((err) => deps.respond.fail(ctx, err));
      else sendReply(ctx, reply, deps);
    } catch (err) {
      deps.respond.fail(ctx, err);
    }
    return;
  }
  const body = readJsonBody(ctx, deps.maxBodyBytes, spec.body === true, ctx.legacy);
  const perDomain = spec.perDomain;
  body
    .then((b) => (perDomain ? underDomainLimit(ctx, perDomain, () => spec.handler(ctx, b)) : spec.handler(ctx, b)))
    .then((reply) => sendReply(ctx, reply, deps))
    .catch((err) => deps.respond.fail(ctx, err));
}

function sendReply(ctx: RequestContext, reply: Reply, deps: RouterDeps): void {
  const text = reply.bytes ?? reply.raw ?? (reply.body === undefined ? null : JSON.stringify(reply.body));
  // The legacy dialect keeps the PHP registrar's plain answers (contract §7).
  if (ctx.legacy) return deps.respond.send(ctx, reply.status, text, reply.headers);
  const out = represent(ctx, reply.status, text, reply.headers);
  deps.respond.send(ctx, out.status, out.body, out.headers);
}
