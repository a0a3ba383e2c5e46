// Route table → uWebSockets.js: each /v1 route plus its legacy alias, 405 with Allow, CORS preflight, 404 fallback.
import type { HttpRequest, HttpResponse, TemplatedApp } from "uWebSockets.js";
import { MethodNotAllowedError, NotFoundError, RateLimitedError } from "../core/errors.js";
import type { RateLimiter } from "../security/rate-limit.js";
import { readJsonBody } from "./body.js";
import { readContext, type RequestContext } from "./context.js";
import type { Responder } from "./respond.js";

export type Reply = { status: number; body?: unknown; raw?: string; bytes?: Buffer; headers?: [string, string][] };
export type Method = "GET" | "POST" | "PUT" | "DELETE";
export type Handler = (ctx: RequestContext, body: unknown) => Promise<Reply> | Reply;
export type RouteSpec = {
  /** Path under /v1 with :params, e.g. "/servers/:domain". */
  path: string;
  /** Also served without /v1 with Deprecation headers (contract §1). */
  legacy?: boolean;
  /** Served exactly at this path, outside /v1 (e.g. /metrics). */
  bare?: boolean;
  methods: Partial<Record<Method, { handler: Handler; body?: boolean; limiter?: RateLimiter | null }>>;
};

export type RouterDeps = {
  respond: Responder;
  resolveIp: (peer: string, xff: string | undefined) => string;
  maxBodyBytes: number;
};

const UWS_METHOD = { GET: "get", POST: "post", PUT: "put", DELETE: "del" } as const;

export function mountRoutes(app: TemplatedApp, routes: RouteSpec[], deps: RouterDeps): void {
  for (const route of routes) {
    const paths: [string, boolean][] = route.bare ? [[route.path, false]] : [[`/v1${route.path}`, false]];
    if (route.legacy) paths.push([route.path, true]);
    const paramCount = (route.path.match(/:/g) ?? []).length;
    // HEAD is GET without the body (RFC 9110 §9.3.2), on every route that has a GET.
    const allow = [...Object.keys(route.methods), ...(route.methods.GET ? ["HEAD"] : []), "OPTIONS"];
    for (const [pattern, legacy] of paths) {
      // Legacy aliases log under their own pattern, so deprecated traffic can be measured.
      const routeName = route.bare || legacy ? route.path : `/v1${route.path}`;
      for (const [method, spec] of Object.entries(route.methods) as [Method, NonNullable<RouteSpec["methods"][Method]>][]) {
        app[UWS_METHOD[method]](pattern, (res, req) => {
          const ctx = readContext(res, req, routeName, paramCount, legacy, deps.resolveIp);
          deps.respond.begin();
          run(ctx, spec, deps);
        });
      }
      const get = route.methods.GET;
      if (get) {
        app.head(pattern, (res, req) => {
          const ctx = readContext(res, req, routeName, paramCount, legacy, deps.resolveIp);
          deps.respond.begin();
          run(ctx, get, deps);
        });
      }
      app.options(pattern, (res, req) => {
        const ctx = readContext(res, req, routeName, paramCount, legacy, deps.resolveIp);
        deps.respond.begin();
        deps.respond.send(ctx, 204, null, [["Allow", allow.join(", ")]]);
      });
      app.any(pattern, (res, req) => {
        const ctx = readContext(res, req, routeName, paramCount, legacy, deps.resolveIp);
        deps.respond.begin();
        deps.respond.fail(ctx, new MethodNotAllowedError(allow));
      });
    }
  }
  app.any("/*", (res: HttpResponse, req: HttpRequest) => {
    const ctx = readContext(res, req, "unmatched", 0, false, deps.resolveIp);
    deps.respond.begin();
    deps.respond.fail(ctx, new NotFoundError(`no route for ${ctx.method} ${ctx.url}`));
  });
}

function run(ctx: RequestContext, spec: { handler: Handler; body?: boolean; limiter?: RateLimiter | null }, deps: RouterDeps): void {
  if (spec.limiter) {
    const d = spec.limiter.take(ctx.ip);
    ctx.headers.push(["RateLimit-Limit", String(d.limit)], ["RateLimit-Remaining", String(d.remaining)], ["RateLimit-Reset", String(d.resetS)]);
    if (!d.allowed) {
      deps.respond.fail(ctx, new RateLimitedError(d.retryAfterS));
      return;
    }
  }
  // The body must be subscribed to before this handler returns (uWS), so start reading now. Routes that take no
  // body still refuse an oversized or non-JSON one before running (contract §1: a rejected request changes nothing).
  const body = readJsonBody(ctx, deps.maxBodyBytes, spec.body === true);
  body
    .then((b) => spec.handler(ctx, b))
    .then((reply) => {
      const text = reply.bytes ?? reply.raw ?? (reply.body === undefined ? null : JSON.stringify(reply.body));
      deps.respond.send(ctx, reply.status, text, reply.headers);
    })
    .catch((err) => deps.respond.fail(ctx, err));
}
