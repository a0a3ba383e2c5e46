// /v1/servers routes: listing, registration, details, update, removal, heartbeat, token rotation, public health.
import type { ActorApi } from "../../../actors/server-actors.js";
import type { ServerFields } from "../../../actors/server-record.js";
import type { Directory } from "../../directory/directory.js";
import { Heartbeat, ListQuery, type ServerSchemas } from "../../domain/schemas.js";
import { NotFoundError, UnauthorizedError, ValidationError } from "../../errors.js";
import type { RateLimiter } from "../../security/rate-limit.js";
import { parseBearer } from "../../security/tokens.js";
import type { RequestContext } from "../context.js";
import type { RouteSpec } from "../router.js";
import { PageCache } from "../../directory/page-cache.js";
import { parseOrThrow, pathDomain, queryParams } from "./params.js";

export type ServerRouteDeps = {
  directory: Directory;
  actors: ActorApi;
  schemas: ServerSchemas;
  registrarId: string;
  offlineAfterS: number;
  heartbeatIntervalS: number;
  onHeartbeat: () => void;
  limits: { register: RateLimiter | null; list: RateLimiter | null };
};

const iso = (ms: number) => new Date(ms).toISOString();
const LIST_HEAD = Buffer.from('{"servers":[');
const COMMA = Buffer.from(",");

function authDomain(ctx: RequestContext): { domain: string; token: string } {
  const token = parseBearer(ctx.authorization);
  const domain = pathDomain(ctx.params[0]);
  // Same answer for a bad token and an unknown domain (contract §1: existence is not leaked through auth routes).
  if (!token || !domain) throw new UnauthorizedError("missing, malformed or wrong bearer token");
  return { domain, token };
}

function knownDomain(ctx: RequestContext, d: ServerRouteDeps) {
  const domain = pathDomain(ctx.params[0]);
  const rec = domain ? d.directory.get(domain) : undefined;
  if (!rec) throw new NotFoundError(`${domain ?? "that domain"} is not registered`);
  return rec;
}

export function serverRoutes(d: ServerRouteDeps): RouteSpec[] {
  const pages = new PageCache();
  return [
    {
      path: "/servers",
      legacy: true,
      methods: {
        GET: {
          limiter: d.limits.list,
          handler: (ctx) => {
            const now = Date.now();
            const cached = pages.get(ctx.query, d.directory.version, now);
            if (cached) return { status: 200, bytes: cached };
            const q = parseOrThrow(ListQuery, queryParams(ctx.query));
            const origin = q.origin === "local" ? d.registrarId : q.origin;
            const version = d.directory.version;
            const page = d.directory.list({ ...q, origin });
            // Concatenating cached UTF-8 records avoids re-encoding a 30 KB string per page.
            const parts: Buffer[] = [LIST_HEAD];
            for (let i = 0; i < page.records.length; i++) {
              if (i) parts.push(COMMA);
              parts.push(page.records[i].jsonBytes());
            }
            parts.push(Buffer.from(`],"total":${page.total},"limit":${q.limit},"offset":${q.offset}}`));
            const bytes = Buffer.concat(parts);
            pages.set(ctx.query, bytes, version, now);
            return { status: 200, bytes };
          },
        },
        POST: {
          body: true,
          limiter: d.limits.register,
          handler: async (ctx, body) => {
            const input = parseOrThrow(d.schemas.RegisterServer, body);
            const { domain, ...fields } = input;
            const reply = await d.actors.register(domain, fields as ServerFields, { kind: "ip", id: ctx.ip });
            return {
              status: 201,
              raw: `{"server":${reply.recordJson},"token":"${reply.token}","token_expires_at":"${iso(reply.tokenExpiresMs)}"}`,
            };
          },
        },
      },
    },
    {
      path: "/servers/:domain",
      legacy: true,
      methods: {
        GET: { handler: (ctx) => ({ status: 200, raw: `{"server":${knownDomain(ctx, d).toJson()}}` }) },
        PUT: {
          body: true,
          handler: async (ctx, body) => {
            const { domain, token } = authDomain(ctx);
            const input = parseOrThrow(d.schemas.UpdateServer(domain), body) as Record<string, unknown>;
            delete input.domain;
            const reply = await d.actors.update(domain, token, input as Partial<ServerFields>, { kind: "domain", id: domain });
            return { status: 200, raw: `{"server":${reply.recordJson}}` };
          },
        },
        DELETE: {
          handler: async (ctx) => {
            const { domain, token } = authDomain(ctx);
            await d.actors.remove(domain, token, { kind: "domain", id: domain });
            return { status: 204 };
          },
        },
      },
    },
    {
      path: "/servers/:domain/heartbeat",
      legacy: true,
      methods: {
        POST: {
          body: true,
          handler: async (ctx, body) => {
            const { domain, token } = authDomain(ctx);
            const stats = body === undefined ? {} : parseOrThrow(Heartbeat, body);
            const r = await d.actors.heartbeat(domain, token, stats);
            d.onHeartbeat();
            return {
              status: 200,
              raw: `{"status":"online","last_seen":"${iso(r.lastSeenMs)}","next_heartbeat_s":${d.heartbeatIntervalS},"token_expires_at":"${iso(r.tokenExpiresMs)}"}`,
            };
          },
        },
      },
    },
    {
      path: "/servers/:domain/token",
      legacy: true,
      methods: {
        POST: {
          body: true,
          handler: async (ctx, body) => {
            const { domain, token } = authDomain(ctx);
            if (body !== undefined && (typeof body !== "object" || body === null || Object.keys(body).length > 0)) {
              throw new ValidationError("token rotation takes no body fields", [{ path: "", message: "expected no body or {}" }]);
            }
            const r = await d.actors.rotateToken(domain, token, { kind: "domain", id: domain });
            return { status: 200, raw: `{"token":"${r.token}","token_expires_at":"${iso(r.tokenExpiresMs)}"}` };
          },
        },
      },
    },
    {
      path: "/servers/:domain/health",
      legacy: true,
      methods: {
        GET: {
          handler: (ctx) => {
            const rec = knownDomain(ctx, d);
            return { status: 200, body: { domain: rec.domain, status: rec.status, last_seen: iso(rec.lastSeenMs), offline_after_s: d.offlineAfterS } };
          },
        },
      },
    },
  ];
}
