// Rendered pages kept while what they show is unchanged (a stamp: the directory version, a record's JSON) and for
// at most a soft TTL, so repeated views cost a lookup like the JSON listing's page cache. Bounded, least recently used
// out first. (Issue 12: this moves onto the shared listing cache once that exists.)
import { createHash } from "node:crypto";
import type { SafeHtml } from "./html.js";

export type RenderedPage = { body: Buffer; etag: string };
type Entry = RenderedPage & { stamp: unknown; atMs: number };

export function renderedPage(markup: SafeHtml): RenderedPage {
  const body = Buffer.from(markup.text, "utf8");
  return { body, etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"` };
}

export class RenderedPages {
  private readonly entries = new Map<string, Entry>();

  constructor(
    /** Relative times ("seen 2 min ago") and heartbeat counts move without a stamp change: show them at most this old. */
    private readonly softTtlMs: number,
    private readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string, stamp: unknown, nowMs: number): RenderedPage | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    this.entries.delete(key);
    if (e.stamp !== stamp || nowMs - e.atMs > this.softTtlMs) return undefined;
    this.entries.set(key, e); // most recently used last
    return e;
  }

  set(key: string, stamp: unknown, page: RenderedPage, nowMs: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { ...page, stamp, atMs: nowMs });
  }
}
