// What the legacy dialect answers (contract §7): `YYYY-MM-DD HH:MM:SS` UTC times, the bare row with exactly its keys
// in order, the server's health and the ratings page, all built from the same records /v1 serves.
import type { ServerRecord } from "../../core/record.js";

/** `2026-11-22 13:00:00`: UTC, no `T`, no zone, no milliseconds (the PHP registrar's DATETIME text). */
export function legacyTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

/** The keys of a legacy row, in the order the PHP registrar's `SELECT *` returned them. */
export const LEGACY_ROW_KEYS = [
  "domain", "name", "api_url", "ws_url", "voice_url", "voice_provider", "cdn_url", "protocols", "capabilities", "description",
  "icon", "user_count", "channel_count", "verified", "status", "last_seen", "version", "created_at",
] as const;

/** A legacy row: unset optional fields are null; `status` is the real status (contract §3), never recomputed. */
export function legacyRow(r: ServerRecord): Record<(typeof LEGACY_ROW_KEYS)[number], unknown> {
  return {
    domain: r.domain,
    name: r.name,
    api_url: r.apiUrl,
    ws_url: r.wsUrl,
    voice_url: r.voiceUrl,
    voice_provider: r.voiceProvider,
    cdn_url: r.cdnUrl,
    protocols: r.protocols,
    capabilities: r.capabilities,
    description: r.description,
    icon: r.icon,
    user_count: r.userCount,
    channel_count: r.channelCount,
    verified: r.verified,
    status: r.status,
    last_seen: legacyTime(r.lastSeenMs),
    version: r.version,
    created_at: legacyTime(r.createdAtMs),
  };
}

export function legacyRowJson(r: ServerRecord): string {
  return JSON.stringify(legacyRow(r));
}

export function legacyHealth(r: ServerRecord): { domain: string; status: string; last_seen: string } {
  return { domain: r.domain, status: r.status, last_seen: legacyTime(r.lastSeenMs) };
}

export type LegacyRating = { id: number; domain: string; user_id: string; rating: number; comment: string | null; created_at: string };

/** `GET /servers/:domain/ratings`: averageRating is null when unrated, never a fake 0 (the PHP's COALESCE bug). */
export function legacyRatingsPage(
  domain: string,
  ratings: { id: number; user_id: string; rating: number; comment: string | null; createdAtMs: number }[],
  average: number | null,
  total: number,
): { ratings: LegacyRating[]; averageRating: number | null; total: number } {
  return {
    ratings: ratings.map((r) => ({ id: r.id, domain, user_id: r.user_id, rating: r.rating, comment: r.comment, created_at: legacyTime(r.createdAtMs) })),
    averageRating: average,
    total,
  };
}
