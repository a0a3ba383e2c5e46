// Encoded listing pages, reused while the directory's version is unchanged and for at most softTtlMs, so that
// identical listing requests between changes cost one lookup instead of a walk and a 30 KB encode.
export type CachedPage = { bytes: Buffer; version: number; atMs: number };

export class PageCache {
  private readonly pages = new Map<string, CachedPage>();

  constructor(
    /** Heartbeat soft state (last_seen, counts) does not bump the version: a cached page shows it at most this old. */
    private readonly softTtlMs = 50,
    private readonly maxPages = 512,
  ) {}

  get(key: string, version: number, nowMs: number): Buffer | undefined {
    const p = this.pages.get(key);
    if (!p) return undefined;
    if (p.version !== version || nowMs - p.atMs > this.softTtlMs) {
      this.pages.delete(key);
      return undefined;
    }
    return p.bytes;
  }

  set(key: string, bytes: Buffer, version: number, nowMs: number): void {
    if (this.pages.size >= this.maxPages) this.pages.delete(this.pages.keys().next().value as string);
    this.pages.set(key, { bytes, version, atMs: nowMs });
  }

  /** The cached page, or the one `build` encodes now, kept under the directory version read before building it. */
  getOrBuild(key: string, version: number, nowMs: number, build: () => Buffer): Buffer {
    const hit = this.get(key, version, nowMs);
    if (hit) return hit;
    const bytes = build();
    this.set(key, bytes, version, nowMs);
    return bytes;
  }
}
