// The web pages' view model and query (src/web/view-model.ts, query.ts, components.ts): fields that do not exist
// yet render nothing, fields that land render by themselves, bad query values fall back without a 400.
import { describe, expect, it } from "vitest";
import { ServerRecord } from "../../src/core/record.js";
import { facts } from "../../src/web/components.js";
import { directoryHref, parseWebQuery, webQueryKey, type ListingFeatures } from "../../src/web/query.js";
import { toKeyView, toRatingView, toServerView } from "../../src/web/view-model.js";

function todaysRecord(): ServerRecord {
  const r = new ServerRecord("chat.example.com", "reg.example.org");
  r.applyFields({ name: "Example", api_url: "https://chat.example.com/api", icon: "https://cdn.example.net/i.png" });
  r.createdAtMs = Date.parse("2026-03-01T00:00:00Z");
  r.lastSeenMs = Date.parse("2026-12-01T12:00:00Z");
  r.userCount = 1204;
  return r;
}

describe("server view model", () => {
  it("reads today's record: fields other work adds are null or empty, never invented", () => {
    const v = toServerView(todaysRecord().toPublic());
    expect(v).toMatchObject({
      domain: "chat.example.com", name: "Example", iconUrl: "https://cdn.example.net/i.png", status: "online", userCount: 1204,
      uptime30d: null, verifiedAtMs: null, languages: [], registration: null, visitUrl: "https://chat.example.com", hasWebUrl: false,
      // Contract §8.4 (issue 10): the record now carries the distribution and verified_count, zero while unrated.
      rating: { average: null, count: 0, distribution: [0, 0, 0, 0, 0], verifiedCount: 0 },
    });
    const text = facts(v, Date.parse("2026-12-01T12:05:00Z")).text;
    expect(text).toContain("<dt>Uptime, 30 days</dt><dd>—</dd>");
    expect(text).not.toContain("Languages");
    expect(text).not.toContain("Registration");
    expect(text).toContain("5 min ago");
    expect(text).toContain("Mar 2026");
    expect(text).toContain("No ratings yet");
    expect(text).not.toContain("rating-bars"); // no empty distribution when nobody rated
  });

  it("shows §8/§9.2 fields as soon as the public record carries them", () => {
    const p = {
      ...todaysRecord().toPublic(),
      web_url: "https://join.chat.example.com/",
      languages: ["en", "pt-BR"],
      registration: "approval",
      uptime_30d: 0.9934,
      verified: true,
      verified_at: "2026-11-02T00:00:00.000Z",
      rating: { average: 4.25, count: 4, distribution: [0, 0, 1, 1, 2], verified_count: 3 },
    };
    const v = toServerView(p);
    expect(v).toMatchObject({
      visitUrl: "https://join.chat.example.com/", hasWebUrl: true, languages: ["en", "pt-BR"], registration: "approval", uptime30d: 0.9934,
      verified: true, verifiedAtMs: Date.parse("2026-11-02T00:00:00Z"), rating: { average: 4.25, count: 4, distribution: [0, 0, 1, 1, 2], verifiedCount: 3 },
    });
    const text = facts(v, Date.now()).text;
    expect(text).toContain("<dt>Uptime, 30 days</dt><dd>99.3 %</dd>");
    expect(text).toContain("<dt>Languages</dt><dd>en, pt-BR</dd>");
    expect(text).toContain("<dt>Registration</dt><dd>Needs approval</dd>");
    expect(text).toContain('class="rating-bars"');
  });

  it("drops values the page must not use: non-https icon or web_url, unknown registration, malformed tags and counts", () => {
    const v = toServerView({
      ...todaysRecord().toPublic(),
      icon: "javascript:alert(1)", web_url: "http://chat.example.com", registration: "maybe", languages: ["en", "<b>", 3, "x".repeat(40)],
      uptime_30d: "high", rating: { average: "5", count: -1, distribution: [1, 2, 3] },
    });
    expect(v).toMatchObject({
      iconUrl: null, visitUrl: "https://chat.example.com", registration: null, languages: ["en"], uptime30d: null,
      rating: { average: null, count: 0, distribution: null, verifiedCount: null },
    });
  });

  it("reads a rating's verified flag and a key only when present and well-formed", () => {
    expect(toRatingView({ user_id: "a@b.example", rating: 4, comment: null, created_at: "2026-12-01T00:00:00.000Z" })).toEqual({
      user: "a@b.example", stars: 4, comment: null, createdAtMs: Date.parse("2026-12-01T00:00:00Z"), verified: null,
    });
    expect(toRatingView({ user_id: "a", rating: 9, comment: "", created_at: "x", verified: true })).toMatchObject({ stars: 5, comment: null, createdAtMs: null, verified: true });
    expect(toKeyView({ kid: "k1", alg: "Ed25519", public_key: "AAAA", valid_until: "2027-01-01T00:00:00.000Z" })).toEqual({
      kid: "k1", alg: "Ed25519", publicKey: "AAAA", validUntilMs: Date.parse("2027-01-01T00:00:00Z"),
    });
    expect(toKeyView({ alg: "Ed25519" })).toBeNull();
  });
});

describe("directory page query", () => {
  const today: ListingFeatures = { sorts: ["users", "rating", "newest", "name"], language: false, registration: false };
  const later: ListingFeatures = { sorts: ["users", "uptime", "rating", "newest", "name"], language: true, registration: true };

  it("normalises: defaults spelled out or left out give the same cache key, first occurrence wins", () => {
    const a = parseWebQuery("", today).query;
    const b = parseWebQuery("sort=users&status=any&verified=any&q=", today).query;
    expect(webQueryKey(a)).toBe(webQueryKey(b));
    expect(parseWebQuery("sort=name&sort=rating", today).query.sort).toBe("name");
    expect(parseWebQuery("q=%20chat%20", today).query.q).toBe("chat");
  });

  it("falls back to defaults on bad values and says so, instead of a 400", () => {
    const { query, problems } = parseWebQuery(`sort=EVIL&status=1&q=${"x".repeat(101)}`, today);
    expect(query).toMatchObject({ sort: "users", status: "any", q: "" });
    expect(problems).toHaveLength(3);
    expect(parseWebQuery("q=a%00b", today).problems[0]).toMatch(/control characters/);
  });

  it("ignores sorts and filters the listing does not support yet, and takes them once it does", () => {
    expect(parseWebQuery("sort=uptime&language=de&registration=open", today)).toEqual({
      query: expect.objectContaining({ sort: "users", language: "", registration: "" }),
      problems: ["Unknown sort order; using the default."],
    });
    expect(parseWebQuery("sort=uptime&language=de&registration=open", later).query).toMatchObject({ sort: "uptime", language: "de", registration: "open" });
    expect(parseWebQuery("language=%3Cscript%3E", later).problems[0]).toMatch(/language/);
  });

  it("builds links that keep the other choices, start a new sort at page one, and leave defaults out", () => {
    const q = parseWebQuery("q=chat&status=online&cursor=40&sort=name", today).query;
    expect(directoryHref(q, { sort: "rating" })).toBe("/?q=chat&status=online&sort=rating");
    expect(directoryHref(q, { cursor: "60" })).toBe("/?q=chat&status=online&sort=name&cursor=60");
    expect(directoryHref(parseWebQuery("", today).query)).toBe("/");
    expect(directoryHref(q, { q: "a&b=<c>" })).toBe("/?q=a%26b%3D%3Cc%3E&status=online&sort=name");
  });
});
