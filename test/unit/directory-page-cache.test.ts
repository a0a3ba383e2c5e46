// The listing page cache: reused only while nothing a page shows could have changed (except heartbeat soft state:
// last_seen and counts, ≤ 50 ms).
import { describe, expect, it } from "vitest";
import { LIVENESS_FIELDS, NO_SORT_FIELD, SORT_FIELD, ServerRecord } from "../../src/core/record.js";
import { Directory } from "../../src/directory/directory.js";
import { PageCache } from "../../src/directory/page-cache.js";

function record(domain: string, users = 0): ServerRecord {
  const r = new ServerRecord(domain, "local");
  r.applyFields({ name: domain, api_url: `https://${domain}/api` });
  r.userCount = users;
  return r;
}

const HEARTBEAT_FIELDS = LIVENESS_FIELDS;

describe("the directory version", () => {
  it("moves on registration, removal, field changes and status changes", () => {
    const d = new Directory();
    const a = record("a.example.com");
    let v = d.version;
    d.add(a);
    expect(d.version).toBeGreaterThan(v);
    v = d.version;
    d.update(a, SORT_FIELD.name, true, () => a.applyFields({ name: "Renamed" }));
    expect(d.version).toBeGreaterThan(v);
    v = d.version;
    d.update(a, NO_SORT_FIELD, false, () => (a.status = "offline"));
    expect(d.version).toBeGreaterThan(v);
    v = d.version;
    d.remove(a);
    expect(d.version).toBeGreaterThan(v);
  });

  // Issue 8: a server alternating user_count 1/2 emptied the listing page cache on every beat.
  it("stays put for heartbeats that move only counts, again and again", () => {
    const d = new Directory();
    const a = record("a.example.com", 1);
    d.add(a);
    const v = d.version;
    for (let i = 0; i < 10; i++) {
      d.update(a, HEARTBEAT_FIELDS, false, () => {
        a.userCount = 1 + (i % 2);
        a.channelCount = i;
      });
    }
    expect(d.version).toBe(v);
    // The order by users still follows the counts (the index is updated; only cached pages lag).
    const b = record("b.example.com", 5);
    d.add(b);
    d.update(a, HEARTBEAT_FIELDS, false, () => (a.userCount = 9));
    expect(d.list({ sort: "users", order: "desc", status: "any", origin: "any", limit: 2, offset: 0 }).records.map((r) => r.domain)).toEqual(["a.example.com", "b.example.com"]);
  });

  it("stays put for a heartbeat that only moves last_seen", () => {
    const d = new Directory();
    const a = record("a.example.com", 3);
    d.add(a);
    const v = d.version;
    d.update(a, HEARTBEAT_FIELDS, false, () => {
      a.lastSeenMs += 1000;
      a.userCount = 3;
    });
    expect(d.version).toBe(v);
  });
});

describe("PageCache", () => {
  it("returns a page only for the same version and within its soft TTL", () => {
    const c = new PageCache(50);
    const page = Buffer.from("{}");
    c.set("limit=5", page, 7, 1000);
    expect(c.get("limit=5", 7, 1040)).toBe(page);
    expect(c.get("limit=5", 8, 1040)).toBeUndefined();
    c.set("limit=5", page, 7, 1000);
    expect(c.get("limit=5", 7, 1051)).toBeUndefined();
  });

  it("holds at most maxBytes of pages, dropping the oldest first, and never one page larger than that", () => {
    const c = new PageCache(50, 10_000);
    for (let i = 0; i < 100; i++) c.set(`q${i}`, Buffer.alloc(1000, i), 1, 0);
    expect(c.bytesUsed).toBeLessThanOrEqual(10_000);
    expect(c.get("q0", 1, 0)).toBeUndefined();
    expect(c.get("q99", 1, 0)?.[0]).toBe(99);
    c.set("huge", Buffer.alloc(20_000), 1, 0);
    expect(c.get("huge", 1, 0)).toBeUndefined();
    expect(c.bytesUsed).toBeLessThanOrEqual(10_000);
  });
});
