// /v1/servers routes: listing, registration, details, update, removal, heartbeat, token rotation, public health.
import type { ActorApi } from "../../../actors/commands.js";
import type { ServerFields } from "../../core/record.js";
import { generateToken, hashToken, tokenHashOf } from "../../core/tokens.js";
import type { Directory } from "../../directory/directory.js";
import { Heartbeat, ListQuery, type ServerSchemas } from "../../domain/schemas.js";
import { AUTH_MESSAGES, type ErrorCode, NotFoundError, NotOwnerError, UnauthorizedError, ValidationError } from "../../core/errors.js";
import type { RateLimiter } from "../../security/rate-limit.js";
import { parseBearer } from "../../security/tokens.js";
import type { RequestContext } from "../context.js";
import { TOKEN_REPLY_HEADERS } from "../respond.js";
import type { RouteSpec } from "../router.js";
import { ParsedQueries } from "../../directory/page-cache.js";
import { decodeCursor, encodeCursor, queryFingerprint } from "../../directory/cursor.js";
import type { ServerRecord } from "../../core/record.js";
import { parseOrThrow, requestDomain, queryParams } from "./params.js";
import * as R from "../openapi/responses.js";
import { DomainParam, NoFields } from "../openapi/params.js";

export type ServerRouteDeps = {
  directory: Directory;
  actors: ActorApi;
  schemas: ServerSchemas;
  registrarId: string;
  offlineAfterS: number;
  heartbeatIntervalS: number;
  onHeartbeat: () => void;
  /** registrar_registrations_total{result}. */
  registrations: { created(): void; refused(err: unknown): void };
  /** Per client IP: register, list; per domain (contract §10): write (PUT, DELETE, rotation), heartbeat. */
  limits: { register: RateLimiter | null; list: RateLimiter | null; write: RateLimiter | null; heartbeat: RateLimiter | null };
  /** Newest event seq delivered on this node: every event up to it is reflected in the directory (§9.2 X-Registrar-Seq). */
  lastSeq: () => number;
};

import { isoTime as iso } from "../../core/iso-time.js";
const SEQ_HEADER = "The newest event seq this answer reflects: follow /v1/feed with after_seq from it (contract §9.2).";
/** What a route behind authDomain may answer. */
const TOKEN_ERRORS: ErrorCode[] = ["unauthorized", "token_expired", "not_owner"];
const LIST_HEAD = Buffer.from('{"servers":[');
const COMMA = Buffer.from(",");

/**
 * The domain and the presented token's SHA-256: hashed here at the edge, so the command that may cross to the shard
 * owner carries no token (security review H5). A bearer that is not a registrar token hashes to null and fails at
 * the actor like a wrong one.
 */
function authDomain(ctx: RequestContext, d: ServerRouteDeps): { domain: string; tokenHash: string | null } {
  const token = parseBearer(ctx.authorization);
  const domain = requestDomain(ctx);
  // Contract §8.6: a write to a mirrored record is a 403 whatever token is sent, none included.
  const listed = domain ? d.directory.get(domain) : undefined;
  if (listed && listed.origin !== d.registrarId) throw new NotOwnerError(`${domain} belongs to registrar ${listed.origin}`);
  // Same answer for a bad token and an unknown domain (contract §1: existence is not leaked through auth routes).
  if (!token || !domain) throw new UnauthorizedError(AUTH_MESSAGES.unauthorized);
  return { domain, tokenHash: tokenHashOf(token) };
}

/** A new token for registration or rotation: generated here, only its hash goes to the actor. */
function newToken(): { token: string; hash: string } {
  const token = generateToken();
  return { token, hash: hashToken(token).toString("hex") };
}

function knownDomain(ctx: RequestContext, d: ServerRouteDeps) {
  const domain = requestDomain(ctx);
  const rec = domain ? d.directory.get(domain) : undefined;
  if (!rec) throw new NotFoundError(`${domain ?? "that domain"} is not registered`);
  return rec;
}

async function register(ctx: RequestContext, body: unknown, d: ServerRouteDeps) {
  const input = parseOrThrow(d.schemas.RegisterServer, body);
  const { domain, ...fields } = input;
  const { token, hash } = newToken();
  const reply = await d.actors.send({ type: "register", domain, fields: fields as ServerFields, tokenHash: hash, by: { kind: "ip", id: ctx.ip } });
  return {
    status: 201,
    raw: `{"server":${reply.recordJson},"token":"${token}","token_expires_at":"${iso(reply.tokenExpiresMs)}"}`,
    headers: TOKEN_REPLY_HEADERS,
  };
}

/**
 * One listing page as JSON bytes (contract §3, §9.2): the records, total, limit, offset and next_cursor; and the
 * directory version it was selected at. A new sort or q is made in slices while this waits (src/directory/slices.ts).
 */
async function listingBody(q: ListQuery, d: ServerRouteDeps): Promise<{ bytes: Buffer; version: number }> {
  const origin = q.origin === "local" ? d.registrarId : q.origin;
  const fingerprint = queryFingerprint({
    sort: q.sort, order: q.order, q: q.q, status: q.status, verified: q.verified, origin, language: q.language,
    registration: q.registration, include_dead: q.include_dead,
  });
  let after: ServerRecord | undefined;
  if (q.cursor !== undefined) {
    const probe = decodeCursor(q.cursor, q.sort, fingerprint);
    if (probe === "malformed") throw new ValidationError("invalid cursor", [{ path: "cursor", message: "is not a cursor of this listing" }]);
    if (probe === "other_query") {
      throw new ValidationError("cursor from a different query", [{ path: "cursor", message: "belongs to a different query: repeat the query's parameters with it" }]);
    }
    after = probe;
  }
  const page = await d.directory.listWhenReady({ ...q, origin, includeDead: q.include_dead, after });
  const last = page.records[page.records.length - 1];
  const next = page.more && last ? `"${encodeCursor(q.sort, fingerprint, last)}"` : "null";
  // Concatenating cached UTF-8 records avoids re-encoding a 30 KB string per page.
  const parts: Buffer[] = [LIST_HEAD];
  for (let i = 0; i < page.records.length; i++) {
    if (i) parts.push(COMMA);
    parts.push(page.records[i].jsonBytes());
  }
  parts.push(Buffer.from(`],"total":${page.total},"limit":${q.limit},"offset":${q.offset},"next_cursor":${next}}`));
  return { bytes: Buffer.concat(parts), version: page.version };
}

export function serverRoutes(d: ServerRouteDeps): RouteSpec[] {
  const pages = d.directory.pageCache();
  // Keyed on the parsed query: a junk parameter or another spelling of the same query hits the same page (§10).
  const queries = new ParsedQueries((raw) => parseOrThrow(ListQuery, queryParams(raw)));
  // The event seq each cached page reflects: a page read from the cache answers the seq it was built at.
  const pageSeq = new WeakMap<Buffer, number>();
  return [
    {
      path: "/servers",
      methods: {
        GET: {
          limiter: d.limits.list,
          doc: {
            summary: "List servers", query: ListQuery, responses: { 200: R.ServerList }, responseHeaders: { "X-Registrar-Seq": SEQ_HEADER }, errors: ["validation_failed"],
          },
          handler: async (ctx) => {
            const { key, value: q } = queries.get(ctx.query);
            const hit = pages.get(key, d.directory.version, Date.now());
            if (hit) return { status: 200, bytes: hit, headers: [["X-Registrar-Seq", String(pageSeq.get(hit) ?? 0)]] };
            // Read before building: the page reflects at least every event up to this seq (list, then feed).
            const seq = d.lastSeq();
            const { bytes, version } = await listingBody(q, d);
            pageSeq.set(bytes, seq);
            pages.set(key, bytes, version, Date.now());
            return { status: 200, bytes, headers: [["X-Registrar-Seq", String(seq)]] };
          },
        },
        POST: {
          body: true,
          limiter: d.limits.register,
          doc: {
            summary: "Register a server", description: "The token is shown only in this answer.",
            body: d.schemas.RegisterServer, responses: { 201: R.ServerWithToken }, errors: ["validation_failed", "domain_taken", "banned"],
          },
          handler: (ctx, body) =>
            register(ctx, body, d).then(
              (reply) => (d.registrations.created(), reply),
              (err) => {
                d.registrations.refused(err);
                throw err;
              },
            ),
        },
      },
    },
    {
      path: "/servers/:domain",
      methods: {
        GET: {
          doc: {
            summary: "One server's record", params: DomainParam, responses: { 200: R.ServerReply }, responseHeaders: { "X-Registrar-Seq": SEQ_HEADER }, errors: ["not_found"],
          },
          handler: (ctx) => {
            const seq = d.lastSeq();
            return { status: 200, raw: `{"server":${knownDomain(ctx, d).toJson()}}`, headers: [["X-Registrar-Seq", String(seq)]] };
          },
        },
        PUT: {
          body: true,
          perDomain: d.limits.write,
          doc: {
            summary: "Update a server (any subset of the mutable fields)", auth: ["server_token"], params: DomainParam,
            body: d.schemas.UpdateBody, responses: { 200: R.ServerReply }, errors: ["validation_failed", ...TOKEN_ERRORS],
          },
          handler: async (ctx, body) => {
            const { domain, tokenHash } = authDomain(ctx, d);
            const input = parseOrThrow(d.schemas.UpdateServer(domain), body) as Record<string, unknown>;
            delete input.domain;
            const changed = input as Partial<ServerFields>;
            const reply = await d.actors.send({ type: "update", domain, tokenHash, changed, by: { kind: "domain", id: domain } });
            return { status: 200, raw: `{"server":${reply.recordJson}}` };
          },
        },
        DELETE: {
          perDomain: d.limits.write,
          doc: { summary: "Remove a server and its ratings", auth: ["server_token"], params: DomainParam, responses: { 204: null }, errors: TOKEN_ERRORS },
          handler: async (ctx) => {
            const { domain, tokenHash } = authDomain(ctx, d);
            await d.actors.send({ type: "remove", domain, tokenHash, by: { kind: "domain", id: domain } });
            return { status: 204 };
          },
        },
      },
    },
    {
      path: "/servers/:domain/heartbeat",
      methods: {
        POST: {
          body: true,
          perDomain: d.limits.heartbeat,
          doc: {
            summary: "Heartbeat: online now, optional stats", auth: ["server_token"], params: DomainParam, body: Heartbeat, bodyOptional: true,
            responses: { 200: R.HeartbeatReply }, errors: ["validation_failed", ...TOKEN_ERRORS],
          },
          handler: async (ctx, body) => {
            const { domain, tokenHash } = authDomain(ctx, d);
            const stats = body === undefined ? {} : parseOrThrow(Heartbeat, body);
            const r = await d.actors.send({ type: "heartbeat", domain, tokenHash, stats });
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
      methods: {
        POST: {
          body: true,
          perDomain: d.limits.write,
          doc: {
            summary: "Rotate the token (the old one stops working at once)", auth: ["server_token"], params: DomainParam, body: NoFields, bodyOptional: true,
            responses: { 200: R.TokenReply }, errors: ["validation_failed", ...TOKEN_ERRORS],
          },
          handler: async (ctx, body) => {
            const { domain, tokenHash } = authDomain(ctx, d);
            if (body !== undefined && (typeof body !== "object" || body === null || Object.keys(body).length > 0)) {
              throw new ValidationError("token rotation takes no body fields", [{ path: "", message: "expected no body or {}" }]);
            }
            const fresh = newToken();
            const r = await d.actors.send({ type: "rotate_token", domain, tokenHash, newTokenHash: fresh.hash, by: { kind: "domain", id: domain } });
            return { status: 200, raw: `{"token":"${fresh.token}","token_expires_at":"${iso(r.tokenExpiresMs)}"}`, headers: TOKEN_REPLY_HEADERS };
          },
        },
      },
    },
    {
      path: "/servers/:domain/health",
      methods: {
        GET: {
          doc: { summary: "A server's online status", params: DomainParam, responses: { 200: R.ServerHealth }, errors: ["not_found"] },
          handler: (ctx) => {
            const rec = knownDomain(ctx, d);
            return { status: 200, body: { domain: rec.domain, status: rec.status, last_seen: iso(rec.lastSeenMs), offline_after_s: d.offlineAfterS } };
          },
        },
      },
    },
  ];
}
