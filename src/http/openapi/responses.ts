// The JSON bodies the /v1 routes answer with, as zod schemas (contract §2, §3, §8): the OpenAPI document's response
// schemas. The handlers build these bodies by hand for speed; the integration tests check every real answer
// against these (test/support/openapi-check.ts), so a field added to an answer must be added here as well.
import { z } from "zod";
import { EVENT_TYPES } from "../../core/events.js";
import { ERROR_CODES } from "../../core/errors.js";
import { WEBHOOK_EVENT_TYPES } from "../../webhooks/schemas.js";
import { REGISTRATION_POLICIES } from "../../domain/directory-fields.js";

/** ISO-8601 UTC with milliseconds (contract §1). */
export const IsoTime = z.iso.datetime();
const Count = z.int().min(0);
const Token = z.string().regex(/^[0-9a-f]{64}$/).meta({ description: "64 lower-case hex characters (256 bits); shown only here" });
const Domain = z.string().min(1).max(253);

export const Server = z.object({
  domain: Domain,
  name: z.string(),
  description: z.string().nullable(),
  icon: z.string().nullable(),
  api_url: z.string(),
  ws_url: z.string().nullable(),
  voice_url: z.string().nullable(),
  voice_provider: z.string().nullable(),
  cdn_url: z.string().nullable(),
  protocols: z.array(z.string()),
  capabilities: z.array(z.string()),
  version: z.string().nullable(),
  user_count: Count,
  channel_count: Count,
  verified: z.boolean(),
  verified_at: IsoTime.nullable(),
  status: z.enum(["online", "offline"]),
  last_seen: IsoTime,
  created_at: IsoTime,
  rating: z.object({
    average: z.number().min(1).max(5).nullable(),
    count: Count,
    distribution: z.array(Count).length(5).meta({ description: "ratings per star, 1 to 5" }),
    verified_count: Count,
  }),
  origin: Domain.meta({ description: "the registrar that owns the record (REGISTRAR_ID)" }),
  web_url: z.string().nullable(),
  languages: z.array(z.string()),
  registration: z.enum(REGISTRATION_POLICIES).nullable(),
  uptime_30d: z.number().min(0).max(1).nullable().meta({ description: "online ratio over the last 30 days; null when unknown" }),
}).meta({ id: "Server", description: "The server record (contract §2)." });

export const ServerReply = z.object({ server: Server });
export const ServerWithToken = z.object({ server: Server, token: Token, token_expires_at: IsoTime });
export const TokenReply = z.object({ token: Token, token_expires_at: IsoTime });
export const ServerList = z.object({
  servers: z.array(Server),
  total: Count,
  limit: z.int().min(1).max(100),
  offset: Count,
  next_cursor: z.string().nullable().meta({ description: "pass as `cursor` for the next page; null on the last" }),
});
export const HeartbeatReply = z.object({ status: z.literal("online"), last_seen: IsoTime, next_heartbeat_s: z.number().positive(), token_expires_at: IsoTime });
export const ServerHealth = z.object({ domain: Domain, status: z.enum(["online", "offline"]), last_seen: IsoTime, offline_after_s: z.number().positive() });

export const Rating = z.object({
  user_id: z.string(),
  rating: z.int().min(1).max(5),
  comment: z.string().nullable(),
  created_at: IsoTime,
  verified: z.boolean(),
}).meta({ id: "Rating" });
export const RatingReply = z.object({ rating: Rating });
export const RatingPage = z.object({
  average: z.number().min(1).max(5).nullable(),
  count: Count,
  ratings: z.array(Rating),
  limit: z.int().min(1),
  offset: Count,
});

const Ed25519Key = { kid: z.string(), alg: z.literal("Ed25519"), public_key: z.string().meta({ description: "base64url raw public key" }) };
export const DomainKeys = z.object({
  domain: Domain,
  verified_at: IsoTime.nullable(),
  fetched_at: IsoTime,
  keys: z.array(z.object({ ...Ed25519Key, valid_until: IsoTime })),
});
export const RegistrarKeys = z.object({ registrar: Domain, keys: z.array(z.object(Ed25519Key)) });
export const VerifiedIdentity = z.object({ identity: z.string(), iss: z.string(), sub: z.string(), exp: z.int() });

export const Challenge = z.object({
  challenge: z.string(),
  registrar: Domain,
  document_url: z.string(),
  expires_at: IsoTime.nullable().meta({ description: "null: the standing challenge of a verified domain" }),
});
export const VerificationDone = z.object({ verified: z.literal(true), verified_at: IsoTime });

export const Webhook = z.object({
  id: z.string().regex(/^wh_[0-9a-f]{24}$/),
  url: z.string(),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).nullable(),
  created_at: IsoTime,
  paused_until: IsoTime.nullable().meta({ description: "deliveries paused until then (docs/webhooks.md, fairness); null when running" }),
}).meta({ id: "Webhook" });
export const WebhookCreated = z.object({
  webhook: Webhook,
  secret: z.string().regex(/^[0-9a-f]{64}$/).meta({ description: "The signing secret of Zent-Signature; shown only here" }),
});
export const WebhookList = z.object({ webhooks: z.array(Webhook) });
export const Delivery = z.object({
  id: Count,
  seq: Count,
  type: z.enum(EVENT_TYPES),
  status: z.enum(["pending", "succeeded", "failed", "dropped"]),
  attempts: Count,
  next_attempt_at: IsoTime.nullable(),
  last_attempt_at: IsoTime.nullable(),
  last_status_code: z.int().nullable(),
  last_error: z.string().nullable(),
  created_at: IsoTime,
  updated_at: IsoTime,
  history: z.array(z.object({ attempt: z.int().min(1), at: IsoTime, status_code: z.int().nullable(), error: z.string().nullable(), duration_ms: z.number().min(0) })),
}).meta({ id: "Delivery" });
export const DeliveryPage = z.object({ deliveries: z.array(Delivery), limit: z.int().min(1), offset: Count });

export const Ban = z.object({ domain: Domain, reason: z.string(), created_at: IsoTime }).meta({ id: "Ban" });
export const BanReply = z.object({ ban: Ban });
export const BanList = z.object({ bans: z.array(Ban) });
export const AuditEntry = z.object({ id: Count, at: IsoTime, actor: z.string(), action: z.string(), domain: Domain.nullable(), detail: z.unknown() }).meta({ id: "AuditEntry" });
export const AuditPage = z.object({ entries: z.array(AuditEntry) });

const Member = z.object({ node: z.string(), shards: Count, servers: Count, at: IsoTime });
export const NodeHealth = z.object({
  status: z.enum(["ok", "degraded"]),
  node: z.string(),
  version: z.string(),
  uptime_s: Count,
  checks: z.object({ mysql: z.enum(["ok", "down"]), nats: z.enum(["ok", "down", "disabled"]) }),
  expiry: z.enum(["normal", "held"]).meta({ description: "held: this node holds offline transitions after a mass expiry (contract §10)" }),
  cluster: z.object({ nodes: z.int().min(1), shards_owned: Count, shards_total: z.int().min(1), members: z.array(Member) }),
});

export const Uptime = z.object({
  domain: Domain,
  days: z.array(z.object({ date: z.iso.date(), online_ratio: z.number().min(0).max(1).nullable() })),
  ratio: z.number().min(0).max(1).nullable(),
});
export const Liveness = z.object({ status: z.literal("alive") });
export const Readiness = z.object({ status: z.enum(["starting", "ready", "draining"]) });

/** An unexpected failure (a bug, an unforeseen store error): 500 with this code, nothing of the cause (src/http/respond.ts). */
export const INTERNAL_CODE = "internal";

/** The error envelope of contract §1, for the given codes (the contract's and `internal` when absent). */
export function errorEnvelope(codes: readonly string[] = [...ERROR_CODES, INTERNAL_CODE]) {
  return z.object({
    error: z.object({
      code: z.enum(codes as [string, ...string[]]),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), message: z.string(), reason: z.string().optional() })).optional(),
    }),
  });
}
