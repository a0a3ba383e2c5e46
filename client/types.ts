// Wire types of the registrar's public API (contract §2–§5), as a client sees them. No runtime code.

export type ServerStatus = "online" | "offline";

export type ServerRecord = {
  domain: string;
  name: string;
  description: string | null;
  icon: string | null;
  api_url: string;
  ws_url: string | null;
  voice_url: string | null;
  voice_provider: string | null;
  cdn_url: string | null;
  protocols: string[];
  capabilities: string[];
  version: string | null;
  user_count: number;
  channel_count: number;
  verified: boolean;
  /** When the current proof of domain control (contract §8.1) made it verified; null while it is not. */
  verified_at: string | null;
  status: ServerStatus;
  last_seen: string;
  created_at: string;
  /** `distribution`: ratings per star, 1…5; `verified_count`: ratings by proved identities (§8.4). */
  rating: { average: number | null; count: number; distribution: number[]; verified_count: number };
  origin: string;
  /** §9.2: the server's web page (https, on its domain), or null. */
  web_url: string | null;
  /** §9.2: language tags such as `en`, `pt-BR` (at most 8). */
  languages: string[];
  /** §9.2: who may join; null when the server did not say. */
  registration: RegistrationPolicy | null;
  /** §9.2: share of the last 30 UTC days the server was online (0…1), null before anything was observed. */
  uptime_30d: number | null;
};

export type RegistrationPolicy = "open" | "approval" | "invite" | "closed";

/** Fields a server sets at registration; `domain`, `name` and `api_url` are required. */
export type RegisterServerBody = {
  domain: string;
  name: string;
  api_url: string;
  ws_url?: string;
  description?: string;
  icon?: string;
  voice_url?: string;
  voice_provider?: string;
  cdn_url?: string;
  version?: string;
  protocols?: string[];
  capabilities?: string[];
  web_url?: string;
  languages?: string[];
  registration?: RegistrationPolicy;
};

/** A partial update: any subset of the mutable fields; null clears an optional one. */
export type UpdateServerBody = {
  name?: string;
  api_url?: string;
  ws_url?: string | null;
  description?: string | null;
  icon?: string | null;
  voice_url?: string | null;
  voice_provider?: string | null;
  cdn_url?: string | null;
  version?: string | null;
  protocols?: string[];
  capabilities?: string[];
  web_url?: string | null;
  languages?: string[];
  registration?: RegistrationPolicy | null;
};

export type ListServersQuery = {
  q?: string;
  sort?: "users" | "channels" | "name" | "created" | "last_seen" | "rating" | "uptime";
  order?: "asc" | "desc";
  status?: "online" | "offline" | "any";
  verified?: boolean;
  origin?: string;
  limit?: number;
  offset?: number;
  /** §9.2: a language tag; matches it and its more specific tags (`pt` matches `pt-BR`). */
  language?: string;
  registration?: RegistrationPolicy;
  /** §9.2: include servers offline for longer than the registrar's DEAD_AFTER_DAYS. */
  include_dead?: boolean;
  /** §9.2: `next_cursor` of the previous page of the same query. */
  cursor?: string;
};

/**
 * One listing page. `next_cursor` continues the same query (null on the last page); `seq` is the registrar's
 * X-Registrar-Seq header: follow the feed with `after_seq: seq` to miss nothing after this page.
 */
export type ServerList = { servers: ServerRecord[]; total: number; limit: number; offset: number; next_cursor: string | null; seq: number | null };

/** §9.2 `GET /v1/servers/:domain/uptime`: per UTC day, oldest first; null before the server was listed. */
export type Uptime = { domain: string; days: { date: string; online_ratio: number | null }[]; ratio: number | null };
export type Registration = { server: ServerRecord; token: string; token_expires_at: string };
export type HeartbeatStats = { user_count?: number; channel_count?: number; version?: string };
export type HeartbeatReply = { status: "online"; last_seen: string; next_heartbeat_s: number; token_expires_at: string };
export type TokenReply = { token: string; token_expires_at: string };
export type ServerHealth = { domain: string; status: ServerStatus; last_seen: string; offline_after_s: number };

/** `user_id` is the rater's full identity (`user@home-domain`); `verified` says whether it was proved (§8.4). */
export type Rating = { user_id: string; rating: number; comment: string | null; created_at: string; verified: boolean };
/**
 * A rating with the rater's identity (contract §8.4): an identity assertion; or, by the rater's home server with its
 * own token, `from_domain` and `user_id`; or (only where the registrar allows anonymous ratings) a bare `user_id`.
 */
export type RateServerBody =
  | { rating: number; comment?: string | null; assertion: string }
  | { rating: number; comment?: string | null; from_domain: string; user_id: string }
  | { rating: number; comment?: string | null; user_id: string };
export type RatingPage = { average: number | null; count: number; ratings: Rating[]; limit: number; offset: number };
export type PageQuery = { limit?: number; offset?: number };

export type NodeHealth = {
  status: "ok" | "degraded";
  node: string;
  version: string;
  uptime_s: number;
  checks: { mysql: "ok" | "down"; nats: "ok" | "down" | "disabled" };
  /** "held" while the node holds offline transitions after a mass expiry (contract §10). */
  expiry: "normal" | "held";
  cluster: Record<string, unknown>;
};

export type WebhookEventType = "server.updated" | "server.status" | "rating.created";
export type RegisterWebhookBody = { url: string; events?: WebhookEventType[] | null };
/** `paused_until` is set while the registrar holds back deliveries of a webhook that keeps timing out. */
export type Webhook = { id: string; url: string; events: WebhookEventType[] | null; created_at: string; paused_until: string | null };
/** The signing secret is shown once, in this response. */
export type WebhookCreated = { webhook: Webhook; secret: string };
export type WebhookDelivery = {
  id: number;
  seq: number;
  type: string;
  /** `dropped`: pushed out by newer deliveries while more were pending than the registrar keeps per webhook. */
  status: "pending" | "succeeded" | "failed" | "dropped";
  attempts: number;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  history: { attempt: number; at: string; status_code: number | null; error: string | null; duration_ms: number }[];
};
export type WebhookDeliveryPage = { deliveries: WebhookDelivery[]; limit: number; offset: number };

export const EVENT_TYPES = ["server.registered", "server.updated", "server.status", "server.removed", "rating.created"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** An event of the feed, or pushed to a server's own session (contract §4.4, §5.3). */
export type RegistryEvent = {
  seq: number;
  type: EventType;
  domain: string;
  at: string;
  data: Record<string, unknown>;
};

/** Close codes of contract §4 and §5. */
export const CloseCodes = {
  normal: 1000,
  /** Refused by policy: too many feed connections from one client address (contract §10). */
  policyViolation: 1008,
  internalError: 1011,
  restarting: 1012,
  tryAgainLater: 1013,
  invalidMessage: 4000,
  authenticationFailed: 4001,
  unsupportedProtocol: 4002,
  identifyTimeout: 4003,
  alreadyIdentified: 4004,
  rateLimited: 4008,
  heartbeatTimeout: 4009,
  sessionReplaced: 4010,
} as const;
