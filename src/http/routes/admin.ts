// The operator's routes (contract §8.5) behind ADMIN_TOKEN: verified flag, token reissue, removal, bans, ratings,
// the audit log. Mounted only when ADMIN_TOKEN is set, so without it every admin path is the router's plain 404.
import { z } from "zod";
import type { ActorApi } from "../../../actors/commands.js";
import { NotFoundError, NotOwnerError, UnauthorizedError, ValidationError } from "../../core/errors.js";
import type { Initiator } from "../../core/events.js";
import { SORT_FIELD, type ServerRecord } from "../../core/record.js";
import { generateToken, hashToken } from "../../core/tokens.js";
import { DomainName } from "../../domain/server-schemas.js";
import { singleLineText } from "../../domain/text.js";
import type { RegistryEvent } from "../../core/events.js";
import type { RatingsRepo } from "../../store/ratings-repo.js";
import type { AdminAuth } from "../../trust/admin-auth.js";
import { AUDIT_PAGE_MAX, type AuditReader } from "../../trust/audit-reader.js";
import type { BansRepo } from "../../trust/bans-repo.js";
import type { ChecksRepo } from "../../trust/checks-repo.js";
import type { RequestContext } from "../context.js";
import { TOKEN_REPLY_HEADERS } from "../respond.js";
import type { RouteSpec } from "../router.js";
import { parseOrThrow, pathDomain, queryParams } from "./params.js";
import type { OperationDoc } from "../openapi/operation-doc.js";
import * as R from "../openapi/responses.js";
import { DomainParam } from "../openapi/params.js";

export type AdminRouteDeps = {
  registrarId: string;
  admin: AdminAuth;
  actors: ActorApi;
  listed(domain: string): ServerRecord | undefined;
  update(rec: ServerRecord, fields: number, mutate: () => void): void;
  publish(ev: RegistryEvent): void;
  bans: BansRepo;
  ratings: RatingsRepo;
  checks: ChecksRepo;
  audit: AuditReader;
};

/** The operator in audit rows: every admin action is `admin:operator` (one token, one operator role). */
const OPERATOR: Initiator = { kind: "admin", id: "operator" };
const iso = (ms: number) => new Date(ms).toISOString();

const VerifiedBody = z.strictObject({ verified: z.boolean() });
const ReasonBody = z.strictObject({ reason: singleLineText(500, 1).optional() });
const BanBody = z.strictObject({ reason: singleLineText(500, 1) });
const AuditQuery = z.object({
  domain: DomainName.optional(),
  limit: z.string().regex(/^[0-9]{1,4}$/, { error: "must be a plain decimal integer" }).transform(Number)
    .pipe(z.number().min(1).max(AUDIT_PAGE_MAX, { error: `must be 1–${AUDIT_PAGE_MAX}` })).default(50),
  before: z.string().max(40).transform((v, c) => {
    if (/^[0-9]{1,15}$/.test(v)) return Number(v);
    const ms = Date.parse(v);
    if (/^\d{4}-\d{2}-\d{2}T/.test(v) && Number.isFinite(ms)) return new Date(ms);
    c.issues.push({ code: "custom", message: "must be an entry id or an ISO time", input: v });
    return z.NEVER;
  }).optional(),
});

function bearerValue(header: string | undefined): string | null {
  const m = header === undefined ? null : /^[ \t]*bearer +(\S+)[ \t]*$/i.exec(header);
  return m ? m[1] : null;
}

function domainParam(raw: string): string {
  const domain = pathDomain(raw);
  if (!domain) throw new NotFoundError("that domain is not registered");
  return domain;
}

export function adminRoutes(d: AdminRouteDeps): RouteSpec[] {
  const guard = (ctx: RequestContext) => {
    if (!d.admin.allows(bearerValue(ctx.authorization))) throw new UnauthorizedError("missing or wrong admin token");
  };
  /** The local record (a mirrored one belongs to its origin's operator: 403). */
  const own = (domain: string): ServerRecord => {
    const rec = d.listed(domain);
    if (!rec) throw new NotFoundError(`${domain} is not registered`);
    if (rec.origin !== d.registrarId) throw new NotOwnerError(`${domain} belongs to registrar ${rec.origin}`);
    return rec;
  };
  const admin = (doc: OperationDoc, handler: (ctx: RequestContext, body: unknown) => Promise<{ status: number; body?: unknown; raw?: string }>, body = false) => ({
    body,
    doc: { tag: "admin", ...doc, auth: ["admin_token"], errors: ["unauthorized", ...doc.errors] } satisfies OperationDoc,
    handler: async (ctx: RequestContext, b: unknown) => {
      guard(ctx);
      return handler(ctx, b);
    },
  });
  return [
    {
      path: "/admin/servers/:domain/verified",
      methods: {
        PUT: admin({ summary: "Set or clear verified by hand", params: DomainParam, body: VerifiedBody, responses: { 200: R.ServerReply }, errors: ["validation_failed", "not_found", "not_owner"] }, async (ctx, body) => {
          const domain = domainParam(ctx.params[0]);
          const { verified } = parseOrThrow(VerifiedBody, body);
          own(domain);
          // The operator's `false` also drops the standing proof: re-checks must not undo the operator's word.
          const r = await d.actors.send({ type: "set_verified", domain, verified, ...(verified ? {} : { challenge: null }), by: OPERATOR });
          if (!verified) await d.checks.unwatch(domain, d.registrarId);
          return { status: 200, raw: `{"server":${r.recordJson}}` };
        }, true),
      },
    },
    {
      path: "/admin/servers/:domain/token",
      methods: {
        POST: admin({ summary: "Reissue a server's token", params: DomainParam, body: ReasonBody, bodyOptional: true, responses: { 200: R.TokenReply }, errors: ["validation_failed", "not_found", "not_owner"] }, async (ctx, body) => {
          const domain = domainParam(ctx.params[0]);
          parseOrThrow(ReasonBody, body ?? {});
          own(domain);
          const token = generateToken();
          const r = await d.actors.send({ type: "reissue_token", domain, newTokenHash: hashToken(token).toString("hex"), by: OPERATOR });
          return { status: 200, raw: `{"token":"${token}","token_expires_at":"${iso(r.tokenExpiresMs)}"}`, headers: TOKEN_REPLY_HEADERS };
        }, true),
      },
    },
    {
      path: "/admin/servers/:domain",
      methods: {
        DELETE: admin({ summary: "Evict a server", params: DomainParam, body: ReasonBody, bodyOptional: true, responses: { 204: null }, errors: ["validation_failed", "not_found", "not_owner"] }, async (ctx, body) => {
          const domain = domainParam(ctx.params[0]);
          const { reason } = parseOrThrow(ReasonBody, body ?? {});
          own(domain);
          await d.actors.send({ type: "evict", domain, by: OPERATOR, ...(reason ? { reason } : {}) });
          return { status: 204 };
        }, true),
      },
    },
    {
      path: "/admin/servers/:domain/ratings/:user_id",
      methods: {
        DELETE: admin({ summary: "Remove one rating", params: { ...DomainParam, user_id: z.string().meta({ description: "percent-encoded rater identity" }) }, responses: { 204: null }, errors: ["validation_failed", "not_found", "not_owner"] }, async (ctx) => {
          const domain = domainParam(ctx.params[0]);
          let userId: string;
          try {
            userId = decodeURIComponent(ctx.params[1]);
          } catch {
            throw new ValidationError("user_id is not valid percent-encoding", [{ path: "user_id", message: "malformed" }]);
          }
          own(domain);
          const removed = await d.ratings.remove(domain, userId, OPERATOR);
          if (!removed) throw new NotFoundError(`${domain} has no rating by ${userId}`);
          const rec = d.listed(domain);
          if (rec && rec.origin === d.registrarId) d.update(rec, SORT_FIELD.rating, () => rec.setRatingSummary(removed.summary));
          d.publish(removed.event);
          return { status: 204 };
        }),
      },
    },
    {
      path: "/admin/bans/:domain",
      methods: {
        PUT: admin({ summary: "Ban a domain (evicts its record)", params: DomainParam, body: BanBody, responses: { 200: R.BanReply }, errors: ["validation_failed", "not_found"] }, async (ctx, body) => {
          const domain = domainParam(ctx.params[0]);
          const { reason } = parseOrThrow(BanBody, body);
          const ban = await d.bans.put(domain, reason, OPERATOR, Date.now());
          // Contract §8.5: banning a registered domain removes it (a mirrored one stays its origin's business).
          const rec = d.listed(domain);
          if (rec && rec.origin === d.registrarId) {
            await d.actors.send({ type: "evict", domain, by: OPERATOR, reason: `banned: ${reason}`.slice(0, 500) }).catch((err) => {
              if (!(err instanceof NotFoundError)) throw err; // removed meanwhile
            });
          }
          return { status: 200, body: { ban } };
        }, true),
        DELETE: admin({ summary: "Lift a ban", params: DomainParam, responses: { 204: null }, errors: ["not_found"] }, async (ctx) => {
          const domain = domainParam(ctx.params[0]);
          if (!(await d.bans.remove(domain, OPERATOR))) throw new NotFoundError(`${domain} is not banned`);
          return { status: 204 };
        }),
      },
    },
    {
      path: "/admin/bans",
      methods: { GET: admin({ summary: "List bans", responses: { 200: R.BanList }, errors: [] }, async () => ({ status: 200, body: { bans: await d.bans.list() } })) },
    },
    {
      path: "/admin/audit",
      methods: {
        GET: admin({ summary: "Read the audit log, newest first", query: AuditQuery, responses: { 200: R.AuditPage }, errors: ["validation_failed"] }, async (ctx) => {
          const q = parseOrThrow(AuditQuery, queryParams(ctx.query));
          return { status: 200, body: { entries: await d.audit.entries(q) } };
        }),
      },
    },
  ];
}
