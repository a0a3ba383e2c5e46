// What the pages show of a server, a rating and a key: one adapter from the contract's public record (§2), so
// fields other work adds to the record (§8, §9.2) appear on the page when they land, and absent ones show nothing.

export type Registration = "open" | "approval" | "invite" | "closed";
const REGISTRATIONS: readonly string[] = ["open", "approval", "invite", "closed"];

export type Endpoints = {
  api: string | null;
  ws: string | null;
  voice: string | null;
  voiceProvider: string | null;
  cdn: string | null;
};

export type ServerView = {
  domain: string;
  name: string;
  description: string | null;
  /** The icon's https URL (the page's CSP loads images only over https), or null. */
  iconUrl: string | null;
  status: "online" | "offline";
  lastSeenMs: number | null;
  userCount: number | null;
  channelCount: number | null;
  /** Share of the last 30 days online, 0…1; null until the uptime rollup (§9.2) exists or when not listed yet. */
  uptime30d: number | null;
  createdAtMs: number | null;
  rating: {
    average: number | null;
    count: number;
    /** Counts of 1…5 stars (§8.4), or null while the record does not carry them. */
    distribution: readonly number[] | null;
    verifiedCount: number | null;
  };
  verified: boolean;
  verifiedAtMs: number | null;
  languages: readonly string[];
  registration: Registration | null;
  /** Where a person goes to join: `web_url` (§9.2) when set, else https://<domain>. */
  visitUrl: string;
  hasWebUrl: boolean;
  endpoints: Endpoints;
  protocols: readonly string[];
  capabilities: readonly string[];
  version: string | null;
  origin: string | null;
};

export type RatingView = {
  user: string;
  stars: number;
  comment: string | null;
  createdAtMs: number | null;
  /** Whether the rater's identity was proved (§8.4); null while ratings do not say. */
  verified: boolean | null;
};

export type KeyView = { kid: string; alg: string; publicKey: string; validUntilMs: number | null };

export type UptimeDay = { date: string; online_ratio: number | null };

/** Anything that can produce the contract's public record (the directory's records do). */
export type PublicSource = { toPublic(): Record<string, unknown> };

const LANGUAGE_TAG = /^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8}){0,3}$/;

const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);
const count = (v: unknown): number | null => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : null);
const ratio = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : null);
const timeMs = (v: unknown): number | null => {
  if (typeof v !== "string") return null;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : null;
};
const tokens = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string" && x !== "") : []);
const httpsUrl = (v: unknown): string | null => {
  const s = str(v);
  return s !== null && /^https:\/\//i.test(s) ? s : null;
};

function distribution(v: unknown): number[] | null {
  if (!Array.isArray(v) || v.length !== 5) return null;
  const counts = v.map(count);
  return counts.every((c): c is number => c !== null) ? counts : null;
}

/** The one adapter from a public record (contract §2 field names) to what the pages render. */
export function toServerView(p: Record<string, unknown>): ServerView {
  const domain = String(p.domain);
  const rating = (typeof p.rating === "object" && p.rating !== null ? p.rating : {}) as Record<string, unknown>;
  const webUrl = httpsUrl(p.web_url);
  const registration = str(p.registration);
  return {
    domain,
    name: str(p.name) ?? domain,
    description: str(p.description),
    iconUrl: httpsUrl(p.icon),
    status: p.status === "online" ? "online" : "offline",
    lastSeenMs: timeMs(p.last_seen),
    userCount: count(p.user_count),
    channelCount: count(p.channel_count),
    uptime30d: ratio(p.uptime_30d),
    createdAtMs: timeMs(p.created_at),
    rating: {
      average: typeof rating.average === "number" && Number.isFinite(rating.average) ? rating.average : null,
      count: count(rating.count) ?? 0,
      distribution: distribution(rating.distribution),
      verifiedCount: count(rating.verified_count),
    },
    verified: p.verified === true,
    verifiedAtMs: timeMs(p.verified_at),
    languages: tokens(p.languages).filter((t) => LANGUAGE_TAG.test(t)),
    registration: registration !== null && REGISTRATIONS.includes(registration) ? (registration as Registration) : null,
    visitUrl: webUrl ?? `https://${domain}`,
    hasWebUrl: webUrl !== null,
    endpoints: { api: str(p.api_url), ws: str(p.ws_url), voice: str(p.voice_url), voiceProvider: str(p.voice_provider), cdn: str(p.cdn_url) },
    protocols: tokens(p.protocols),
    capabilities: tokens(p.capabilities),
    version: str(p.version),
    origin: str(p.origin),
  };
}

/** A rating row as the ratings repository returns it; `verified` (§8.4) is read when the row has it. */
export function toRatingView(r: { user_id: string; rating: number; comment: string | null; created_at: string } & Record<string, unknown>): RatingView {
  return {
    user: r.user_id,
    stars: Math.min(5, Math.max(1, Math.round(r.rating))),
    comment: str(r.comment),
    createdAtMs: timeMs(r.created_at),
    verified: typeof r.verified === "boolean" ? r.verified : null,
  };
}

/** A key as §8.1/§8.3 publish it (`kid`, `alg`, `public_key`, `valid_until`). */
export function toKeyView(k: Record<string, unknown>): KeyView | null {
  const kid = str(k.kid);
  const publicKey = str(k.public_key);
  if (kid === null || publicKey === null) return null;
  return { kid, alg: str(k.alg) ?? "", publicKey, validUntilMs: timeMs(k.valid_until) };
}
