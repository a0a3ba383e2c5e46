// The legacy dialect's routes (contract §7): the PHP registrar's wire format translated at the edge onto the same
// actor commands, schemas, directory and repositories as /v1 — one set of rules, two wire formats.
import type { ActorApi } from "../../../actors/commands.js";
import { AUTH_MESSAGES, NotFoundError, UnauthorizedError, ValidationError } from "../../core/errors.js";
import type { ServerFields } from "../../core/record.js";
import { generateToken, hashToken, tokenHashOf } from "../../core/tokens.js";
import type { Directory } from "../../directory/directory.js";
import { ParsedQueries } from "../../directory/page-cache.js";
import { Heartbeat, type ServerSchemas } from "../../domain/schemas.js";
import type { RateLimiter } from "../../security/rate-limit.js";
import { parseBearer } from "../../security/tokens.js";
import type { LegacyRatingRow } from "../../store/ratings-repo.js";
import type { RequestContext } from "../context.js";
import type { RouteSpec } from "../router.js";
import { parseOrThrow, requestDomain, queryParams } from "../routes/params.js";
import { missingAuthorization, NO_FIELDS, withLegacyText } from "./errors.js";
import { legacyListQuery, legacyRatingsParams } from "./query.js";
import { legacyRating, legacyRegistration, legacyStats, legacyUpdate } from "./requests.js";
import { legacyHealth, legacyRatingsPage, legacyRowJson } from "./wire.js";
import { TOKEN_REPLY_HEADERS } from "../respond.js";

export type LegacyRouteDeps = {
  directory: Directory;
  actors: ActorApi;
  schemas: ServerSchemas;
  ratings: { pageWithIds(domain: string, limit: number, offset: number): Promise<LegacyRatingRow[]> };
  onHeartbeat: () => void;
  /** registrar_registrations_total{result}: legacy registrations count like /v1 ones. */
  registrations: { created(): void; refused(err: unknown): void };
  limits: { register: RateLimiter | null; list: RateLimiter | null; rate: RateLimiter | null; write: RateLimiter | null; heartbeat: RateLimiter | null };
  /** The rating operation of `POST /v1/servers/:domain/rate` (src/http/routes/ratings.ts), given a /v1-shaped body. */
  submitRating: (ctx: RequestContext, v1Body: unknown) => Promise<unknown>;
};

/**
 * The domain and the presented token's hash. No Authorization header (or another scheme) is `Missing
 * authorization`; a Bearer that is wrong, malformed or for an unknown domain is `Invalid token` (contract §7).
 */
function legacyAuth(ctx: RequestContext): { domain: string; tokenHash: string | null } {
  if (!ctx.authorization || !/^[ \t]*bearer(?:[ \t]|$)/i.test(ctx.authorization)) throw missingAuthorization();
  const domain = requestDomain(ctx);
  if (!domain) throw new UnauthorizedError(AUTH_MESSAGES.unauthorized);
  return { domain, tokenHash: tokenHashOf(parseBearer(ctx.authorization)) };
}

function known(ctx: RequestContext, directory: Directory) {
  const domain = requestDomain(ctx);
  const rec = domain ? directory.get(domain) : undefined;
  if (!rec) throw new NotFoundError(`${domain ?? "that domain"} is not registered`);
  return rec;
}

export function legacyRoutes(d: LegacyRouteDeps): RouteSpec[] {
  const pages = d.directory.pageCache();
  // Keyed on the parsed query: junk parameters share the page of the query they parse to (contract §10).
  const queries = new ParsedQueries((raw) => legacyListQuery(queryParams(raw)));
  const legacy = (path: string, methods: RouteSpec["methods"]): RouteSpec => ({ path, dialect: "legacy", methods });
  return [
    legacy("/servers", {
      GET: {
        limiter: d.limits.list,
        handler: async (ctx) => {
          const { key, value: q } = queries.get(ctx.query);
          const hit = pages.get(key, d.directory.version, Date.now());
          if (hit) return { status: 200, bytes: hit };
          const page = await d.directory.listWhenReady({ q: q.search, qIn: "name_domain", sort: q.sort, order: q.order, status: "any", origin: "any", limit: q.limit, offset: q.offset });
          const rows = page.records.map((r) => legacyRowJson(r)).join(",");
          const bytes = Buffer.from(`{"servers":[${rows}],"total":${page.total}}`);
          pages.set(key, bytes, page.version, Date.now());
          return { status: 200, bytes };
        },
      },
      POST: {
        body: true,
        limiter: d.limits.register,
        handler: async (ctx, body) => {
          try {
            const { domain, ...fields } = parseOrThrow(d.schemas.RegisterServer, legacyRegistration(body));
            const token = generateToken();
            const hash = hashToken(token).toString("hex");
            await d.actors.send({ type: "register", domain, fields: fields as ServerFields, tokenHash: hash, by: { kind: "ip", id: ctx.ip } });
            d.registrations.created();
            return { status: 201, body: { domain, serverToken: token }, headers: TOKEN_REPLY_HEADERS };
          } catch (err) {
            d.registrations.refused(err);
            throw err;
          }
        },
      },
    }),
    legacy("/servers/:domain", {
      GET: { handler: (ctx) => ({ status: 200, raw: legacyRowJson(known(ctx, d.directory)) }) },
      PUT: {
        body: true,
        perDomain: d.limits.write,
        handler: async (ctx, body) => {
          const { domain, tokenHash } = legacyAuth(ctx);
          const update = legacyUpdate(body);
          if (!update.fields && !update.stats) throw withLegacyText(new ValidationError("no fields to update"), NO_FIELDS);
          // Both parts are checked before either is applied: a rejected request changes nothing (contract §1).
          const changed = update.fields ? (parseOrThrow(d.schemas.UpdateServer(domain), update.fields) as Partial<ServerFields>) : null;
          const stats = update.stats ? parseOrThrow(Heartbeat, update.stats) : null;
          if (changed) await d.actors.send({ type: "update", domain, tokenHash, changed, by: { kind: "domain", id: domain } });
          // userCount/channelCount are applied like a heartbeat's stats (contract §7).
          if (stats) {
            await d.actors.send({ type: "heartbeat", domain, tokenHash, stats });
            d.onHeartbeat();
          }
          return { status: 200, body: { updated: true } };
        },
      },
      DELETE: {
        perDomain: d.limits.write,
        handler: async (ctx) => {
          const { domain, tokenHash } = legacyAuth(ctx);
          await d.actors.send({ type: "remove", domain, tokenHash, by: { kind: "domain", id: domain } });
          return { status: 204 };
        },
      },
    }),
    legacy("/servers/:domain/heartbeat", {
      POST: {
        body: true,
        perDomain: d.limits.heartbeat,
        handler: async (ctx, body) => {
          const { domain, tokenHash } = legacyAuth(ctx);
          const stats = parseOrThrow(Heartbeat, legacyStats(body));
          await d.actors.send({ type: "heartbeat", domain, tokenHash, stats });
          d.onHeartbeat();
          return { status: 204 };
        },
      },
    }),
    legacy("/servers/:domain/health", {
      GET: { handler: (ctx) => ({ status: 200, body: legacyHealth(known(ctx, d.directory)) }) },
    }),
    legacy("/servers/:domain/ratings", {
      GET: {
        handler: async (ctx) => {
          const rec = known(ctx, d.directory);
          const page = legacyRatingsParams(queryParams(ctx.query));
          const rows = await d.ratings.pageWithIds(rec.domain, page.limit, page.offset);
          return { status: 200, body: legacyRatingsPage(rec.domain, rows, rec.ratingAverage(), rec.ratingCount) };
        },
      },
    }),
    legacy("/servers/:domain/rate", {
      POST: {
        body: true,
        limiter: d.limits.rate,
        handler: async (ctx, body) => {
          // Contract §7/§8.4: fromDomain + userId with the Bearer token of fromDomain is the home-server form of the
          // /v1 route; the rater is `userId@fromDomain`, under the same rules (src/trust/rating-service.ts).
          await d.submitRating(ctx, legacyRating(body));
          // 201 also when it replaced an earlier rating (contract §7).
          return { status: 201, body: { created: true } };
        },
      },
    }),
    // A liveness answer like the PHP registrar's; /v1/health reports the dependencies (contract §7).
    legacy("/health", { GET: { handler: () => ({ status: 200, body: { status: "ok", service: "registrar" } }) } }),
  ];
}
