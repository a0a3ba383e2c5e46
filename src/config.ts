// Configuration: process.env parsed once by a zod schema into the values the node uses (limits, CIDR sets, origins,
// policies already parsed), frozen, passed down. Nothing else reads process.env.
import os from "node:os";
import { accessSync, constants } from "node:fs";
import { z } from "zod";
import { tokenPolicy } from "./core/tokens.js";
import { DAY_MS } from "./core/units.js";
import { parseTrustedProxies } from "./security/client-ip.js";
import { parseCorsOrigins } from "./security/cors.js";
import { parseRateLimit } from "./security/rate-limit.js";
import { SECRET_ENV, TrustEnv, trustSettings } from "./trust/settings.js";
import { isFallbackRequested } from "./uws.js";
import { POOL_DEFAULTS } from "./store/db.js";
import { checkTlsFiles, parseDatabaseUrl, redactUrl } from "./store/mysql-url.js";
import type { NatsLink } from "../transport/nats/nats-link.js";

export const DEFAULTS = {
  port: 5000,
  host: "0.0.0.0",
  clusterId: "zent",
  registrarId: "local",
  shards: 256,
  databaseUrl: "mysql://root@127.0.0.1:3306/zent_registrar",
  offlineAfterS: 300,
  tokenTtlDays: 365,
  tokenMaxAgeDays: 730,
  rateLimitRegister: "5/3600",
  rateLimitRate: "10/60",
  rateLimitList: "30/60",
  rateLimitWrite: "60/60",
  rateLimitHeartbeat: "120/60",
  flushIntervalMs: 1000,
  heartbeatIntervalS: 30,
  wsIdentifyTimeoutS: 10,
  wsHeartbeatTimeoutS: 90,
  wsRateLimit: "120/60",
  feedRetentionDays: 7,
  feedMaxPerIp: 8,
  shutdownTimeoutMs: 10_000,
  shutdownDrainMs: 0,
  dbPoolSize: POOL_DEFAULTS.connectionLimit,
  dbQueueLimit: POOL_DEFAULTS.queueLimit,
  dbAcquireTimeoutMs: POOL_DEFAULTS.acquireTimeoutMs,
  maxBodyBytes: 65_536,
  webhookRetryBaseMs: 1000,
  webhookRetryMaxMs: 3_600_000,
  webhookGiveUpAfterS: 86_400,
  webhookTimeoutMs: 10_000,
  webhookPollMs: 1000,
  webhookConcurrency: 16,
  webhookRetentionDays: 7,
  webhookConnectTimeoutMs: 2000,
  webhookMaxInFlightPerWebhook: 1,
  webhookMaxInFlightPerDomain: 2,
  webhookPauseAfterTimeouts: 3,
  webhookPauseS: 300,
  webhookMaxPending: 1000,
  massExpiryRatio: 0.2,
  massExpiryMin: 50,
  massExpiryHoldS: 600,
  auditRetentionDays: 365,
  deadAfterDays: 30,
  uptimeRetentionDays: 400,
  fedAntiEntropyS: 30,
  fedTombstoneTtlS: 7 * 86_400,
  fedMaxChangesPerS: 5000,
  fedMaxMessageBytes: 262_144,
  cacheMaxBytes: 256 * 2 ** 20,
} as const;

const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const positiveNumber = z.coerce.number().positive().finite();
const rateSpec = z
  .string()
  .regex(/^(off|[1-9][0-9]*\/[1-9][0-9]*)$/i, "expected N/seconds (e.g. 30/60) or off");
const idToken = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "expected 1-63 chars of a-z 0-9 . _ -");

const Env = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(DEFAULTS.port),
  HOST: z.string().min(1).default(DEFAULTS.host),
  // Parsed, with its TLS options, by src/store/mysql-url.ts (below).
  DATABASE_URL: z.string().default(DEFAULTS.databaseUrl),
  // The MySQL pool (src/store/db.ts): when it runs dry, requests answer 503 `unavailable` (contract §10).
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(DEFAULTS.dbPoolSize),
  DB_QUEUE_LIMIT: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULTS.dbQueueLimit),
  DB_ACQUIRE_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(DEFAULTS.dbAcquireTimeoutMs),
  NATS_URL: z.string().min(1).optional(),
  // Read when connecting (src/config checks here that they can be read): transport/nats/nats-link.ts.
  NATS_CREDS: z.string().min(1).optional(),
  NATS_TLS_CA: z.string().min(1).optional(),
  NATS_TLS_CERT: z.string().min(1).optional(),
  NATS_TLS_KEY: z.string().min(1).optional(),
  // A NATS subject token: no dots (they would split the subject).
  CLUSTER_ID: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "expected 1-63 chars of a-z 0-9 _ - (no dots)").default(DEFAULTS.clusterId),
  REGISTRAR_ID: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{0,252}$/, "expected a lower-case host-like id such as reg.example.com")
    .refine((v) => v !== "any", "`any` is reserved by the listing's origin filter")
    .default(DEFAULTS.registrarId),
  NODE_ID: idToken.optional(),
  OFFLINE_AFTER_S: positiveNumber.default(DEFAULTS.offlineAfterS),
  HEARTBEAT_INTERVAL_S: positiveNumber.optional(),
  TOKEN_TTL_DAYS: positiveNumber.default(DEFAULTS.tokenTtlDays),
  TOKEN_MAX_AGE_DAYS: positiveNumber.default(DEFAULTS.tokenMaxAgeDays),
  TRUSTED_PROXIES: z.string().optional(),
  // A header a trusted proxy sets to the client address (cf-connecting-ip, x-real-ip), read instead of X-Forwarded-For.
  CLIENT_IP_HEADER: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,64}$/, "expected a header name such as cf-connecting-ip")
    .transform((v) => v.toLowerCase())
    .optional(),
  CORS_ORIGINS: z.string().optional(),
  RATE_LIMIT_REGISTER: rateSpec.default(DEFAULTS.rateLimitRegister),
  RATE_LIMIT_RATE: rateSpec.default(DEFAULTS.rateLimitRate),
  RATE_LIMIT_LIST: rateSpec.default(DEFAULTS.rateLimitList),
  // Per domain, on the routes that take its token (contract §10).
  RATE_LIMIT_WRITE: rateSpec.default(DEFAULTS.rateLimitWrite),
  RATE_LIMIT_HEARTBEAT: rateSpec.default(DEFAULTS.rateLimitHeartbeat),
  ALLOW_INSECURE_URLS: bool.default(false),
  ALLOW_PRIVATE_WEBHOOKS: bool.default(false),
  WEBHOOK_RETRY_BASE_MS: z.coerce.number().int().min(1).max(3_600_000).default(DEFAULTS.webhookRetryBaseMs),
  WEBHOOK_RETRY_MAX_MS: z.coerce.number().int().min(1).max(86_400_000).default(DEFAULTS.webhookRetryMaxMs),
  WEBHOOK_GIVE_UP_AFTER_S: positiveNumber.default(DEFAULTS.webhookGiveUpAfterS),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(DEFAULTS.webhookTimeoutMs),
  WEBHOOK_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(DEFAULTS.webhookPollMs),
  WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(DEFAULTS.webhookConcurrency),
  WEBHOOK_RETENTION_DAYS: positiveNumber.default(DEFAULTS.webhookRetentionDays),
  WEBHOOK_CONNECT_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(DEFAULTS.webhookConnectTimeoutMs),
  WEBHOOK_MAX_IN_FLIGHT_PER_WEBHOOK: z.coerce.number().int().min(1).max(64).default(DEFAULTS.webhookMaxInFlightPerWebhook),
  WEBHOOK_MAX_IN_FLIGHT_PER_DOMAIN: z.coerce.number().int().min(1).max(256).default(DEFAULTS.webhookMaxInFlightPerDomain),
  WEBHOOK_PAUSE_AFTER_TIMEOUTS: z.coerce.number().int().min(1).max(1000).default(DEFAULTS.webhookPauseAfterTimeouts),
  WEBHOOK_PAUSE_S: positiveNumber.default(DEFAULTS.webhookPauseS),
  WEBHOOK_MAX_PENDING: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULTS.webhookMaxPending),
  MASS_EXPIRY_RATIO: z.coerce.number().gt(0).max(1).default(DEFAULTS.massExpiryRatio),
  MASS_EXPIRY_MIN: z.coerce.number().int().min(1).max(100_000_000).default(DEFAULTS.massExpiryMin),
  MASS_EXPIRY_HOLD_S: z.coerce.number().min(0).finite().default(DEFAULTS.massExpiryHoldS),
  AUDIT_RETENTION_DAYS: positiveNumber.default(DEFAULTS.auditRetentionDays),
  WEBHOOK_SECRET_KEY: z.string().regex(/^[0-9a-fA-F]{64}$/, "expected 64 hex characters (32 bytes)").optional(),
  FLUSH_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(DEFAULTS.flushIntervalMs),
  WS_IDENTIFY_TIMEOUT_S: positiveNumber.default(DEFAULTS.wsIdentifyTimeoutS),
  WS_HEARTBEAT_TIMEOUT_S: positiveNumber.default(DEFAULTS.wsHeartbeatTimeoutS),
  WS_RATE_LIMIT: rateSpec.default(DEFAULTS.wsRateLimit),
  FEED_RETENTION_DAYS: positiveNumber.default(DEFAULTS.feedRetentionDays),
  // Contract §10: the listing caches' memory together (q match sets, encoded pages); at least 1 MiB.
  CACHE_MAX_BYTES: z.coerce.number().int().min(2 ** 20).max(2 ** 45).default(DEFAULTS.cacheMaxBytes),
  FEED_MAX_PER_IP: z.coerce.number().int().min(1).max(100_000).default(DEFAULTS.feedMaxPerIp),
  // Contract §10: /readyz is 503 and the node keeps serving this long after SIGTERM before it closes its listener.
  SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).max(300_000).default(DEFAULTS.shutdownDrainMs),
  SHARDS: z.coerce.number().int().min(1).max(4096).default(DEFAULTS.shards),
  PEERS: z.string().optional(),
  FEDERATION: z.enum(["auto", "on", "off"]).default("auto"),
  FED_ANTI_ENTROPY_S: positiveNumber.default(DEFAULTS.fedAntiEntropyS),
  FED_TOMBSTONE_TTL_S: positiveNumber.default(DEFAULTS.fedTombstoneTtlS),
  FED_MAX_CHANGES_PER_S: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULTS.fedMaxChangesPerS),
  // Contract §9.2: offline longer than this leaves listings (unless include_dead=true); decimals accepted (tests).
  DEAD_AFTER_DAYS: positiveNumber.default(DEFAULTS.deadAfterDays),
  // Contract §9.2: daily uptime rows kept this long, whatever FEED_RETENTION_DAYS says.
  UPTIME_RETENTION_DAYS: z.coerce.number().int().min(365).max(3650).default(DEFAULTS.uptimeRetentionDays),
  // The web directory at / and /server/:domain (contract §9.1); off answers 404 for both.
  WEB_UI: z.enum(["on", "off"]).default("on"),
  // Contract §7: every route also served under this path (a registrar placed under a path of another site).
  PATH_PREFIX: z
    .string()
    .regex(/^(\/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$/, "expected a path such as /registrar: segments of A-Z a-z 0-9 . _ ~ -, no trailing slash")
    .refine((v) => !v.split("/").includes("v1") && !v.split("/").some((seg) => /^\.+$/.test(seg)), "must not contain the segments v1, . or ..")
    .optional(),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  // Read by the uWebSockets.js package itself; the node refuses to start on the fallback (src/uws.ts).
  UWS_USE_FALLBACK: z.string().optional(),
  ...TrustEnv,
});

export type Config = ReturnType<typeof loadConfig>;

export class ConfigError extends Error {}

/**
 * Runs one value's parser; a value it refuses (a bad CIDR, an origin with a path, a rate limit past its bounds)
 * fails as one line naming the variable, before anything is opened (issue 2). The parsed value is what the node uses.
 */
function parsed<T>(env: Record<string, string | undefined>, name: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    const why = (err as Error).message.replace(new RegExp(`^${name}: `), "").replace(/\s*\n\s*/g, " ");
    throw new ConfigError(`invalid ${shown(name, env)}: ${why}`, { cause: err });
  }
}

/** Variables whose values are secrets by their name (WEBHOOK_SECRET_KEY, ADMIN_TOKEN, …): never echoed (review L5). */
function isSecretName(name: string): boolean {
  return SECRET_ENV.has(name) || /(?:_KEY|_SECRET|_TOKEN|_PASSWORD|_CREDENTIALS)$/.test(name);
}

/** `NAME="value"` as an error shows it: a password in a URL's user part (DATABASE_URL, NATS_URL) becomes `***`, a secret is hidden. */
function shown(name: string, env: Record<string, string | undefined>): string {
  // A secret's value is never printed, not even redacted (ADMIN_TOKEN, contract §8.5).
  return isSecretName(name) ? `${name} (value hidden)` : `${name}=${JSON.stringify(redactUrl(env[name] ?? ""))}`;
}

/** DATABASE_URL with its TLS options; the PEM files it names are read and checked now (issue 13). */
function parseDatabase(url: string) {
  const target = parseDatabaseUrl(url);
  if (target.tls) checkTlsFiles(target.tls);
  return Object.freeze(target);
}

/** PEERS: distinct registrar ids (the REGISTRAR_ID syntax), never this registrar itself. */
function parsePeers(raw: string | undefined, self: string): string[] {
  const peers = [...new Set((raw ?? "").split(",").map((p) => p.trim()).filter(Boolean))];
  for (const p of peers) {
    if (!/^[a-z0-9][a-z0-9.-]{0,252}$/.test(p)) throw new Error(`${JSON.stringify(p)} is not a registrar id (lower-case a-z 0-9 . -)`);
    if (p === self) throw new Error(`${p} is this registrar's own REGISTRAR_ID`);
  }
  return peers;
}

/** NATS_URL with its credentials and TLS files; each file must be readable now (fail at start, not at connect). */
function natsLink(env: Record<string, string | undefined>, e: z.infer<typeof Env>): NatsLink | null {
  const files = { NATS_CREDS: e.NATS_CREDS, NATS_TLS_CA: e.NATS_TLS_CA, NATS_TLS_CERT: e.NATS_TLS_CERT, NATS_TLS_KEY: e.NATS_TLS_KEY };
  for (const [name, file] of Object.entries(files)) {
    if (file === undefined) continue;
    if (!e.NATS_URL) throw new ConfigError(`invalid ${shown(name, env)}: it needs NATS_URL`);
    parsed(env, name, () => {
      try {
        accessSync(file, constants.R_OK);
      } catch (err) {
        throw new Error(`cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
    });
  }
  if ((e.NATS_TLS_CERT === undefined) !== (e.NATS_TLS_KEY === undefined)) {
    const missing = e.NATS_TLS_CERT === undefined ? "NATS_TLS_CERT" : "NATS_TLS_KEY";
    throw new ConfigError(`invalid ${missing}: a NATS client certificate needs both NATS_TLS_CERT and NATS_TLS_KEY`);
  }
  if (!e.NATS_URL) return null;
  const tlsOn = e.NATS_TLS_CA !== undefined || e.NATS_TLS_CERT !== undefined || /(^|,)\s*tls:\/\//i.test(e.NATS_URL);
  return {
    url: e.NATS_URL,
    credsFile: e.NATS_CREDS,
    tls: tlsOn ? { caFile: e.NATS_TLS_CA, certFile: e.NATS_TLS_CERT, keyFile: e.NATS_TLS_KEY } : undefined,
  };
}

/** Parses the environment; throws ConfigError with one line naming the variable and the problem. */
export function loadConfig(env: Record<string, string | undefined> = process.env) {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const result = Env.safeParse(cleaned);
  if (!result.success) {
    const issue = result.error.issues[0];
    const name = String(issue.path[0] ?? "environment");
    throw new ConfigError(`invalid ${shown(name, env)}: ${issue.message}`);
  }
  const e = result.data;
  const peers = parsed(env, "PEERS", () => parsePeers(e.PEERS, e.REGISTRAR_ID));
  const federation = e.FEDERATION !== "off" && (e.FEDERATION === "on" || peers.length > 0);
  if (federation && !e.NATS_URL) {
    throw new ConfigError(`invalid FEDERATION=${JSON.stringify(env.FEDERATION ?? "")}: peer mirroring needs NATS_URL (the peer link); set NATS_URL or FEDERATION=off`);
  }
  const offlineAfterMs = Math.round(e.OFFLINE_AFTER_S * 1000);
  // Announce an interval that leaves room for two missed heartbeats before the offline deadline.
  const heartbeatIntervalS =
    e.HEARTBEAT_INTERVAL_S ?? Math.max(1, Math.min(DEFAULTS.heartbeatIntervalS, Math.floor(e.OFFLINE_AFTER_S / 3)));
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    /** DATABASE_URL parsed (host, user, database, TLS): what every MySQL connection is opened from. */
    database: parsed(env, "DATABASE_URL", () => parseDatabase(e.DATABASE_URL)),
    /** The MySQL pool's size, queue and wait deadline. */
    dbPool: Object.freeze({ connectionLimit: e.DB_POOL_SIZE, queueLimit: e.DB_QUEUE_LIMIT, acquireTimeoutMs: e.DB_ACQUIRE_TIMEOUT_MS }),
    natsUrl: e.NATS_URL,
    /** How to reach NATS (URL with credentials, .creds file, TLS files); null without NATS_URL. */
    nats: natsLink(env, e),
    /** Cluster mode (NATS, shards, shared limits) or one node on its own: decided here, once. */
    mode: (e.NATS_URL ? "cluster" : "single") as "cluster" | "single",
    clusterId: e.CLUSTER_ID,
    registrarId: e.REGISTRAR_ID,
    nodeId: e.NODE_ID ?? `${os.hostname().toLowerCase().replace(/[^a-z0-9._-]/g, "-").slice(0, 40)}-${process.pid}`,
    offlineAfterMs,
    heartbeatIntervalS,
    tokenTtlDays: e.TOKEN_TTL_DAYS,
    cacheMaxBytes: e.CACHE_MAX_BYTES,
    tokenMaxAgeDays: e.TOKEN_MAX_AGE_DAYS,
    /** TOKEN_TTL_DAYS and TOKEN_MAX_AGE_DAYS as the one expiry rule's policy (src/core/tokens.ts). */
    tokens: tokenPolicy(e.TOKEN_TTL_DAYS, e.TOKEN_MAX_AGE_DAYS),
    trustedProxies: parsed(env, "TRUSTED_PROXIES", () => parseTrustedProxies(e.TRUSTED_PROXIES)),
    /** CLIENT_IP_HEADER in lower case (how uWS names headers); undefined reads X-Forwarded-For. */
    clientIpHeader: e.CLIENT_IP_HEADER,
    corsOrigins: parsed(env, "CORS_ORIGINS", () => parseCorsOrigins(e.CORS_ORIGINS)),
    /** Per-IP limits of registration, rating and listing, per-domain limits of token writes and heartbeats; null = off. */
    rateLimits: Object.freeze({
      register: parsed(env, "RATE_LIMIT_REGISTER", () => parseRateLimit(e.RATE_LIMIT_REGISTER, DEFAULTS.rateLimitRegister)),
      rate: parsed(env, "RATE_LIMIT_RATE", () => parseRateLimit(e.RATE_LIMIT_RATE, DEFAULTS.rateLimitRate)),
      list: parsed(env, "RATE_LIMIT_LIST", () => parseRateLimit(e.RATE_LIMIT_LIST, DEFAULTS.rateLimitList)),
      write: parsed(env, "RATE_LIMIT_WRITE", () => parseRateLimit(e.RATE_LIMIT_WRITE, DEFAULTS.rateLimitWrite)),
      heartbeat: parsed(env, "RATE_LIMIT_HEARTBEAT", () => parseRateLimit(e.RATE_LIMIT_HEARTBEAT, DEFAULTS.rateLimitHeartbeat)),
    }),
    allowInsecureUrls: e.ALLOW_INSECURE_URLS,
    allowPrivateWebhooks: e.ALLOW_PRIVATE_WEBHOOKS,
    webhooks: Object.freeze({
      retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
      retryMaxMs: Math.max(e.WEBHOOK_RETRY_MAX_MS, e.WEBHOOK_RETRY_BASE_MS),
      giveUpAfterMs: Math.round(e.WEBHOOK_GIVE_UP_AFTER_S * 1000),
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      pollMs: e.WEBHOOK_POLL_MS,
      concurrency: e.WEBHOOK_CONCURRENCY,
      retentionMs: Math.round(e.WEBHOOK_RETENTION_DAYS * DAY_MS),
      /** Time limit to open the connection (TCP, and TLS for https), inside timeoutMs. */
      connectTimeoutMs: Math.min(e.WEBHOOK_CONNECT_TIMEOUT_MS, e.WEBHOOK_TIMEOUT_MS),
      /** Attempts in flight at once, cluster-wide, for one webhook and for all webhooks of one domain. */
      maxInFlightPerWebhook: e.WEBHOOK_MAX_IN_FLIGHT_PER_WEBHOOK,
      maxInFlightPerDomain: e.WEBHOOK_MAX_IN_FLIGHT_PER_DOMAIN,
      /** Timeouts in a row that pause a webhook, and for how long. */
      pauseAfterTimeouts: e.WEBHOOK_PAUSE_AFTER_TIMEOUTS,
      pauseMs: Math.round(e.WEBHOOK_PAUSE_S * 1000),
      /** Pending deliveries kept per webhook; older ones are dropped. */
      maxPending: e.WEBHOOK_MAX_PENDING,
      /** AES-256-GCM key for stored webhook secrets; undefined stores them in clear (src/webhooks/secrets.ts). */
      secretKeyHex: e.WEBHOOK_SECRET_KEY,
    }),
    /** Mass-expiry protection (contract §10, actors/mass-expiry.ts). */
    massExpiry: Object.freeze({ ratio: e.MASS_EXPIRY_RATIO, min: e.MASS_EXPIRY_MIN, holdMs: Math.round(e.MASS_EXPIRY_HOLD_S * 1000) }),
    flushIntervalMs: e.FLUSH_INTERVAL_MS,
    wsIdentifyTimeoutMs: Math.round(e.WS_IDENTIFY_TIMEOUT_S * 1000),
    wsHeartbeatTimeoutMs: Math.round(e.WS_HEARTBEAT_TIMEOUT_S * 1000),
    /** Inbound WebSocket messages per connection; null = off. */
    wsRateLimit: parsed(env, "WS_RATE_LIMIT", () => parseRateLimit(e.WS_RATE_LIMIT, DEFAULTS.wsRateLimit)),
    feedRetentionMs: Math.round(e.FEED_RETENTION_DAYS * DAY_MS),
    /** Open /v1/feed connections per client IP; the next is closed with 1008 (contract §10). */
    feedMaxPerIp: e.FEED_MAX_PER_IP,
    auditRetentionMs: Math.round(e.AUDIT_RETENTION_DAYS * DAY_MS),
    shards: e.SHARDS,
    peers,
    /** Peer-registrar mirroring (src/federation, docs/federation.md); on only with NATS_URL. */
    federation: Object.freeze({
      enabled: federation,
      antiEntropyMs: Math.round(e.FED_ANTI_ENTROPY_S * 1000),
      tombstoneTtlMs: Math.round(e.FED_TOMBSTONE_TTL_S * 1000),
      maxChangesPerS: e.FED_MAX_CHANGES_PER_S,
      maxMessageBytes: DEFAULTS.fedMaxMessageBytes,
    }),
    /** §9.2: a server offline for longer than this is dead: hidden from listings unless include_dead=true. */
    deadAfterMs: Math.round(e.DEAD_AFTER_DAYS * DAY_MS),
    uptimeRetentionDays: e.UPTIME_RETENTION_DAYS,
    /** The HTML directory (src/web, docs/web.md). */
    webUi: e.WEB_UI === "on",
    /** Proof of domain control, keys, assertions, rater identity, admin (contract §8; src/trust/settings.ts). */
    trust: trustSettings(e, e.ALLOW_INSECURE_URLS, (name, parse) => parsed(env, name, parse)),
    logLevel: e.LOG_LEVEL,
    /** PATH_PREFIX, or "" when unset (contract §7). */
    pathPrefix: e.PATH_PREFIX ?? "",
    /** UWS_USE_FALLBACK, with the values the package itself obeys (=0 or =false load the native module as usual). */
    uwsUseFallback: isFallbackRequested(e.UWS_USE_FALLBACK),
    /** Fixed by the contract (64 KiB, §1), not a setting. */
    maxBodyBytes: DEFAULTS.maxBodyBytes,
    /** The stop after the drain: in-flight requests, flushes and hand-over must fit in it (not a setting). */
    shutdownTimeoutMs: DEFAULTS.shutdownTimeoutMs,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
  });
}
