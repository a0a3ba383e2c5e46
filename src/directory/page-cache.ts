// Encoded listing pages, reused while the directory's version is unchanged and for at most softTtlMs, so that
// identical listing requests between changes cost one lookup instead of a walk and a 30 KB encode. Pages are keyed
// on the parsed query (listingKey), so an ignored parameter or another spelling of the same query shares one page,
// and held under a byte budget (part of CACHE_MAX_BYTES), not a count: a page of 100 large records is megabytes.
export type CachedPage = { bytes: Buffer; version: number; atMs: number; size: number };

/** Map entry, key string and bookkeeping, on top of the page's own bytes. */
const ENTRY_OVERHEAD_BYTES = 160;

export class PageCache {
  private readonly pages = new Map<string, CachedPage>();
  private used = 0;

  constructor(
    /** Heartbeat soft state (last_seen, counts) does not bump the version: a cached page shows it at most this old. */
    private readonly softTtlMs = 50,
    private readonly maxBytes = 64 * 2 ** 20,
  ) {}

  /** Estimated heap held by the cached pages. */
  get bytesUsed(): number {
    return this.used;
  }

  get(key: string, version: number, nowMs: number): Buffer | undefined {
    const p = this.pages.get(key);
    if (!p) return undefined;
    if (p.version !== version || nowMs - p.atMs > this.softTtlMs) {
      this.drop(key, p);
      return undefined;
    }
    return p.bytes;
  }

  set(key: string, bytes: Buffer, version: number, nowMs: number): void {
    const size = bytes.length + 2 * key.length + ENTRY_OVERHEAD_BYTES;
    const prior = this.pages.get(key);
    if (prior) this.drop(key, prior);
    if (size > this.maxBytes) return;
    this.pages.set(key, { bytes, version, atMs: nowMs, size });
    this.used += size;
    // Oldest first: an entry's place is its insertion (a stale page is dropped on its next read anyway).
    for (const [k, p] of this.pages) {
      if (this.used <= this.maxBytes) break;
      this.drop(k, p);
    }
  }

  private drop(key: string, p: CachedPage): void {
    this.pages.delete(key);
    this.used -= p.size;
  }
}

/**
 * The cache key of a parsed listing query: its fields in name order, absent ones left out. Two requests that parse
 * to the same query (junk parameters, reordered or repeated ones, defaults spelt out) share one key.
 */
export function listingKey(parsed: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const k of Object.keys(parsed).sort()) {
    const v = parsed[k];
    if (v !== undefined) parts.push(`${k}=${JSON.stringify(v)}`);
  }
  return parts.join("&");
}

/**
 * Parsed queries by their raw query string, so the hot path (the same URL again and again) skips schema parsing. Only
 * successful parses are kept; bounded by count and by the raw strings' size.
 */
export class ParsedQueries<T extends Record<string, unknown>> {
  private readonly known = new Map<string, { key: string; value: T }>();
  private chars = 0;

  constructor(
    private readonly parse: (raw: string) => T,
    private readonly maxEntries = 4096,
    private readonly maxChars = 2 ** 20,
  ) {}

  get(raw: string): { key: string; value: T } {
    const hit = this.known.get(raw);
    if (hit) return hit;
    const value = this.parse(raw);
    const entry = { key: listingKey(value), value };
    this.known.set(raw, entry);
    this.chars += raw.length + entry.key.length;
    for (const [k, e] of this.known) {
      if (this.known.size <= this.maxEntries && this.chars <= this.maxChars) break;
      this.known.delete(k);
      this.chars -= k.length + e.key.length;
    }
    return entry;
  }
}
