// One registered server's in-memory state (the directory's record and its actor's state in one compact object),
// its client-set fields and stats as schemas, and the masks that name which sort keys a change may move.
import { z } from "zod";
import { isoTime } from "./iso-time.js";

export type Status = "online" | "offline";

const text = z.string().max(10_000);
const optionalText = text.nullable().optional();
const list = z.array(z.string().max(1000)).max(1000).optional();

/**
 * Fields a client may set at registration or update (contract §2), in API spelling. This is the structural shape
 * (what a command may carry between nodes); the contract's field rules are checked at the edge (src/domain).
 */
export const ServerFields = z.strictObject({
  name: text,
  description: optionalText,
  icon: optionalText,
  api_url: text,
  ws_url: optionalText,
  voice_url: optionalText,
  voice_provider: optionalText,
  cdn_url: optionalText,
  protocols: list,
  capabilities: list,
  version: optionalText,
  // §9.2, checked at the edge (src/domain/directory-fields.ts).
  web_url: optionalText,
  languages: list,
  registration: optionalText,
});
export type ServerFields = z.infer<typeof ServerFields>;

export const Stats = z.strictObject({
  user_count: z.number().int().min(0).optional(),
  channel_count: z.number().int().min(0).optional(),
  version: z.string().max(1000).optional(),
});
export type Stats = z.infer<typeof Stats>;

/**
 * The sort keys a change may move, one bit each: Directory.update re-indexes a record only in the sorts whose bit
 * is set, so a wrong mask corrupts an index silently. Callers pass these names, never numbers.
 */
export const SORT_FIELD = {
  users: 1,
  channels: 2,
  name: 4,
  created: 8,
  last_seen: 16,
  rating: 32,
  uptime: 64,
} as const;
export type FieldMask = number;
/** A change that moves no sort key (a status flip: status is a filter, not a sort). */
export const NO_SORT_FIELD: FieldMask = 0;
/** What a heartbeat (or liveness gossip) may move: last_seen, user and channel counts. */
export const LIVENESS_FIELDS: FieldMask = SORT_FIELD.last_seen | SORT_FIELD.users | SORT_FIELD.channels;
/** What a client update may move: the name (the other client fields are no sort key). */
export const CLIENT_FIELDS: FieldMask = SORT_FIELD.name;
export const ALL_FIELDS: FieldMask = Object.values(SORT_FIELD).reduce((a, b) => a | b, 0);

const EMPTY: readonly string[] = Object.freeze([]);
export const NO_STARS: readonly number[] = Object.freeze([0, 0, 0, 0, 0]);

/** A rating summary as events carry it (contract §5 `rating.created`) and records show it. */
export type RatingSummary = { count: number; sum: number; distribution: readonly number[]; verified_count: number };

export class ServerRecord {
  // Identity and client-set fields.
  name = "";
  /** Lower-cased name: the sort=name key, computed once per change instead of per comparison. */
  nameKey = "";
  description: string | null = null;
  // The description lower-cased for `q` matching (src/directory/search-cache.ts), and the text it was made from.
  private descKeyOf: string | null = null;
  private descKeyValue: string | null = null;
  icon: string | null = null;
  apiUrl = "";
  wsUrl: string | null = null;
  voiceUrl: string | null = null;
  voiceProvider: string | null = null;
  cdnUrl: string | null = null;
  protocols: readonly string[] = EMPTY;
  capabilities: readonly string[] = EMPTY;
  version: string | null = null;
  /** §9.2: the server's own web page (https, on the domain), its language tags (canonical) and registration policy. */
  webUrl: string | null = null;
  languages: readonly string[] = EMPTY;
  registration: string | null = null;
  // Soft state from heartbeats.
  userCount = 0;
  channelCount = 0;
  status: Status = "online";
  lastSeenMs = 0;
  // Server-owned.
  verified = false;
  /** When the current proof (or the operator) made it verified; 0 = never / not now (contract §8.1 `verified_at`). */
  verifiedAtMs = 0;
  /** Owner's side only: the challenge that proved the domain, its standing proof (§8.1) and what peers check (§8.6). */
  verifiedChallenge: string | null = null;
  createdAtMs = 0;
  recordVersion = 1;
  ratingSum = 0;
  ratingCount = 0;
  /** Ratings per star, 1…5 (contract §8.4 `distribution`); the shared NO_STARS until the first rating. */
  ratingStars: readonly number[] = NO_STARS;
  /** Ratings whose rater identity was proved verified (§8.4 `verified_count`). */
  ratingVerified = 0;
  /**
   * §9.2 uptime, kept by src/uptime/tracker.ts from status transitions: the status the rollup last counted, since
   * when (0 = not tracked yet), the closed online/observed milliseconds of the 30-day window, and the ratio shown
   * as `uptime_30d` (null until anything was observed). Ratio changes re-index sort=uptime.
   */
  uptimeStatus: Status = "online";
  statusSinceMs = 0;
  uptimeOnlineMs = 0;
  uptimeObservedMs = 0;
  uptime30d: number | null = null;
  /** §9.2 DEAD_AFTER_DAYS: offline for longer than that; set by the directory's dead sweep, cleared when it returns. */
  dead = false;
  // Auth: sha-256 of the token (hex); sliding expiry counts from tokenActivityMs.
  tokenHash: string | null = null;
  tokenIssuedMs = 0;
  tokenActivityMs = 0;
  // Actor bookkeeping: offline deadline (0 = no timer), status as last persisted, write-behind flag.
  deadlineMs = 0;
  /** Timer-wheel bucket this record waits in (0 = none). */
  timerBucket = 0;
  persistedStatus: Status = "online";
  dirty = false;
  /** Serialised public JSON as UTF-8 bytes, cached until the next change (listings concatenate these). */
  json: Buffer | null = null;

  constructor(
    readonly domain: string,
    readonly origin: string,
  ) {}

  /** The description lower-cased, made once per description (however it was set) instead of once per search. */
  get descriptionKey(): string | null {
    if (this.description !== this.descKeyOf) {
      this.descKeyOf = this.description;
      this.descKeyValue = this.description === null ? null : this.description.toLowerCase();
    }
    return this.descKeyValue;
  }

  applyFields(f: Partial<ServerFields>): void {
    if (f.name !== undefined) {
      this.name = f.name;
      this.nameKey = f.name.toLowerCase();
    }
    if (f.description !== undefined) this.description = f.description;
    if (f.icon !== undefined) this.icon = f.icon;
    if (f.api_url !== undefined) this.apiUrl = f.api_url;
    if (f.ws_url !== undefined) this.wsUrl = f.ws_url;
    if (f.voice_url !== undefined) this.voiceUrl = f.voice_url;
    if (f.voice_provider !== undefined) this.voiceProvider = f.voice_provider;
    if (f.cdn_url !== undefined) this.cdnUrl = f.cdn_url;
    if (f.protocols !== undefined) this.protocols = f.protocols.length ? f.protocols : EMPTY;
    if (f.capabilities !== undefined) this.capabilities = f.capabilities.length ? f.capabilities : EMPTY;
    if (f.version !== undefined) this.version = f.version;
    if (f.web_url !== undefined) this.webUrl = f.web_url;
    if (f.languages !== undefined) this.languages = f.languages.length ? f.languages : EMPTY;
    if (f.registration !== undefined) this.registration = f.registration;
    this.json = null;
  }

  ratingAverage(): number | null {
    return this.ratingCount === 0 ? null : Math.round((this.ratingSum / this.ratingCount) * 100) / 100;
  }

  /** The public record of contract §2 (never the token or internal fields). */
  toPublic(): Record<string, unknown> {
    return {
      domain: this.domain,
      name: this.name,
      description: this.description,
      icon: this.icon,
      api_url: this.apiUrl,
      ws_url: this.wsUrl,
      voice_url: this.voiceUrl,
      voice_provider: this.voiceProvider,
      cdn_url: this.cdnUrl,
      protocols: this.protocols,
      capabilities: this.capabilities,
      version: this.version,
      user_count: this.userCount,
      channel_count: this.channelCount,
      verified: this.verified,
      verified_at: this.verifiedAtMs ? new Date(this.verifiedAtMs).toISOString() : null,
      status: this.status,
      last_seen: isoTime(this.lastSeenMs),
      created_at: new Date(this.createdAtMs).toISOString(),
      rating: { average: this.ratingAverage(), count: this.ratingCount, distribution: this.ratingStars, verified_count: this.ratingVerified },
      origin: this.origin,
      web_url: this.webUrl,
      languages: this.languages,
      registration: this.registration,
      uptime_30d: this.uptime30d,
    };
  }

  toJson(): string {
    return this.jsonBytes().toString("utf8");
  }

  /**
   * The public JSON for a one-off reply (registration, update): the cached bytes when there are any, else built
   * without caching them. Most records written are not listed soon after, and a cached small Buffer per write is a
   * slice of Node's shared 8 KiB pool that keeps the whole slab resident.
   */
  replyJson(): string {
    return this.json ? this.json.toString("utf8") : JSON.stringify(this.toPublic());
  }

  jsonBytes(): Buffer {
    return (this.json ??= Buffer.from(JSON.stringify(this.toPublic())));
  }

  /** Builds or refreshes a record from its public JSON (events from other nodes); owner-only fields stay unset. */
  static fromPublic(p: Record<string, any>, into?: ServerRecord): ServerRecord {
    const r = into ?? new ServerRecord(p.domain, p.origin);
    r.applyFields({
      name: p.name, description: p.description, icon: p.icon, api_url: p.api_url, ws_url: p.ws_url, voice_url: p.voice_url,
      voice_provider: p.voice_provider, cdn_url: p.cdn_url, protocols: p.protocols, capabilities: p.capabilities, version: p.version,
      // A record from a registrar without §9.2 carries none of these: null / [] (contract §2).
      web_url: p.web_url ?? null, languages: p.languages ?? [], registration: p.registration ?? null,
    });
    r.userCount = p.user_count ?? r.userCount;
    r.channelCount = p.channel_count ?? r.channelCount;
    r.verified = p.verified === true;
    r.verifiedAtMs = typeof p.verified_at === "string" ? Date.parse(p.verified_at) || 0 : 0;
    r.status = p.status === "offline" ? "offline" : "online";
    r.persistedStatus = r.status;
    if (p.last_seen) r.lastSeenMs = Math.max(r.lastSeenMs, Date.parse(p.last_seen));
    if (p.created_at) r.createdAtMs = Date.parse(p.created_at);
    return r;
  }

  /** Takes a rating summary (from the ratings table or a `rating.created` event). */
  setRatingSummary(s: RatingSummary): void {
    this.ratingCount = s.count;
    this.ratingSum = s.sum;
    this.ratingStars = s.count === 0 ? NO_STARS : Object.freeze([...s.distribution]);
    this.ratingVerified = s.verified_count;
    this.json = null;
  }

  clientFields(): ServerFields {
    return {
      name: this.name, description: this.description, icon: this.icon, api_url: this.apiUrl, ws_url: this.wsUrl,
      voice_url: this.voiceUrl, voice_provider: this.voiceProvider, cdn_url: this.cdnUrl,
      protocols: [...this.protocols], capabilities: [...this.capabilities], version: this.version,
      web_url: this.webUrl, languages: [...this.languages], registration: this.registration,
    };
  }
}
