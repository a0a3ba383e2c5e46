// Rows of the `servers` table as records: the column list, the row → ServerRecord mapping (one, for the start-up
// load, on-demand loads and a new shard owner's reload), and the shared lists interned.
import type { RowDataPacket } from "mysql2/promise";
import { ServerRecord } from "../core/record.js";
import { activityFromExpiresMs, type TokenPolicy } from "../core/tokens.js";

export const RECORD_COLUMNS = `s.domain, s.origin, s.name, s.description, s.icon, s.api_url, s.ws_url, s.voice_url, s.voice_provider,
  s.cdn_url, s.web_url, s.languages, s.registration, s.status_since, s.protocols, s.capabilities, s.version, s.user_count, s.channel_count, s.verified, s.verified_at, s.verified_challenge,
  s.status, s.last_seen, s.created_at, s.record_version, HEX(s.token_hash) AS token_hash, s.token_issued_at, s.token_expires_at,
  COALESCE(r.n, 0) AS rating_count, COALESCE(r.total, 0) AS rating_sum, r.s1, r.s2, r.s3, r.s4, r.s5, COALESCE(r.v, 0) AS rating_verified`;

/** The per-server rating summary (count, sum, stars 1…5, verified raters) joined as `r` to RECORD_COLUMNS. */
export function ratingSummarySql(where: string): string {
  return `SELECT domain, COUNT(*) AS n, SUM(rating) AS total, SUM(rating = 1) AS s1, SUM(rating = 2) AS s2, SUM(rating = 3) AS s3,
    SUM(rating = 4) AS s4, SUM(rating = 5) AS s5, SUM(verified) AS v FROM ratings ${where} GROUP BY domain`;
}

export function toRecord(row: RowDataPacket, tokens: TokenPolicy, interned: Map<string, readonly string[]>): ServerRecord {
  const r = new ServerRecord(row.domain, row.origin);
  r.name = row.name;
  r.nameKey = r.name.toLowerCase();
  r.description = row.description;
  r.icon = row.icon;
  r.apiUrl = row.api_url;
  r.wsUrl = row.ws_url;
  r.voiceUrl = row.voice_url;
  r.voiceProvider = row.voice_provider;
  r.cdnUrl = row.cdn_url;
  // Most servers share the same few protocol/capability lists: keep one frozen copy of each.
  r.protocols = intern(interned, row.protocols);
  r.capabilities = intern(interned, row.capabilities);
  r.version = row.version;
  r.webUrl = row.web_url ?? null;
  // NULL: a row written before migration 008 or by the PHP import.
  r.languages = row.languages ? intern(interned, row.languages) : r.languages;
  r.registration = row.registration ?? null;
  r.userCount = Number(row.user_count);
  r.channelCount = Number(row.channel_count);
  r.verified = row.verified === 1;
  r.verifiedAtMs = row.verified_at ? (row.verified_at as Date).getTime() : 0;
  r.verifiedChallenge = row.verified_challenge ?? null;
  r.status = row.status;
  r.persistedStatus = row.status;
  r.uptimeStatus = row.status;
  r.statusSinceMs = (row.status_since as Date).getTime();
  r.lastSeenMs = (row.last_seen as Date).getTime();
  r.createdAtMs = (row.created_at as Date).getTime();
  r.recordVersion = Number(row.record_version);
  readTokenColumns(r, row, tokens);
  const count = Number(row.rating_count);
  if (count > 0) {
    r.setRatingSummary({
      count, sum: Number(row.rating_sum), verified_count: Number(row.rating_verified),
      distribution: [row.s1, row.s2, row.s3, row.s4, row.s5].map((n) => Number(n ?? 0)),
    });
  }
  return r;
}

function intern(cache: Map<string, readonly string[]>, json: string): readonly string[] {
  let v = cache.get(json);
  if (!v) {
    v = Object.freeze(JSON.parse(json) as string[]);
    if (cache.size < 10_000) cache.set(json, v);
  }
  return v;
}

/** The owner-only token state of a `servers` row (token_hash as HEX(), issued and sliding-expiry instants). */
export function readTokenColumns(r: ServerRecord, row: RowDataPacket, tokens: TokenPolicy): void {
  r.tokenHash = row.token_hash ? String(row.token_hash).toLowerCase() : null;
  r.tokenIssuedMs = row.token_issued_at ? (row.token_issued_at as Date).getTime() : 0;
  r.tokenActivityMs = row.token_expires_at ? activityFromExpiresMs((row.token_expires_at as Date).getTime(), tokens) : 0;
}
