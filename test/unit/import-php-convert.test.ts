// The PHP import's row conversion (contract §7): domains, JSON columns, counts, times, tokens and the §2 report;
// and its ratings: one per user (the newest), bad rows reported.
import { describe, expect, it } from "vitest";
import { makeServerSchemas } from "../../src/domain/schemas.js";
import { convertRatings } from "../../src/import/php-ratings.js";
import { convertServer, type ConvertSettings, type ImportedServer } from "../../src/import/php-server.js";
import type { PhpRatingRow, PhpServerRow } from "../../src/import/php-source.js";
import { hashToken } from "../../src/core/tokens.js";

const DAY_MS = 86_400_000;
const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);
const TOKEN = "ab".repeat(32);

const settings = (over: Partial<ConvertSettings> = {}): ConvertSettings => ({
  nowMs: NOW, registrarId: "reg.example.net", offlineAfterMs: 300_000, tokenTtlDays: 365, tokenMaxAgeDays: 730,
  schemas: makeServerSchemas({ allowInsecureUrls: false }), ...over,
});

const row = (over: Partial<PhpServerRow> = {}): PhpServerRow => ({
  domain: "chat.example.com", name: "Chat", api_url: "https://chat.example.com/api", ws_url: "wss://chat.example.com/ws",
  voice_url: null, voice_provider: "livekit", cdn_url: null, protocols: '["zent-v1"]', capabilities: "{}", description: null,
  icon: null, version: null, user_count: 0, channel_count: 0, verified: 0, server_token: TOKEN,
  token_expires_at: new Date(NOW + 100 * DAY_MS), last_seen: new Date(NOW - 60_000), created_at: new Date(NOW - 10 * DAY_MS), ...over,
});

function server(over: Partial<PhpServerRow> = {}, s = settings()): ImportedServer {
  const c = convertServer(row(over), s);
  if (!("server" in c)) throw new Error(`unusable: ${c.unusable.reason}`);
  return c.server;
}

describe("convertServer", () => {
  it("lower-cases the domain, converts an IDN to punycode, and refuses one no path could reach", () => {
    expect(server({ domain: "Chat.Example.COM" }).record.domain).toBe("chat.example.com");
    expect(server({ domain: "Bücher.example", api_url: "https://xn--bcher-kva.example/api", ws_url: "" }).record.domain).toBe("xn--bcher-kva.example");
    for (const domain of ["-bad.example.com", `${"a".repeat(64)}.example.com`, "localhost"]) {
      const c = convertServer(row({ domain }), settings());
      expect("unusable" in c && c.unusable.sourceDomain).toBe(domain);
    }
  });

  it("turns a capabilities object into the keys with a value of exactly true, and keeps a list as it is", () => {
    expect(server({ capabilities: '{"voice": true, "video": false, "bots": 1, "e2ee": true}' }).record.capabilities).toEqual(["voice", "e2ee"]);
    const listed = server({ capabilities: '["voice", "federation"]' });
    expect(listed.record.capabilities).toEqual(["voice", "federation"]);
    expect(listed.problems).toEqual([]);
    expect(server({ capabilities: null, protocols: null }).record.capabilities).toEqual([]);
  });

  it("reports JSON of other shapes and says what it kept", () => {
    const odd = server({ capabilities: "42", protocols: '["zent-v1", 7, null]' });
    expect(odd.record.capabilities).toEqual([]);
    expect(odd.record.protocols).toEqual(["zent-v1"]);
    expect(odd.problems).toEqual([
      { field: "protocols", message: "2 entries that are not strings were left out" },
      { field: "capabilities", message: "was 42: imported as []" },
    ]);
    const broken = server({ capabilities: "{voice" });
    expect(broken.record.capabilities).toEqual([]);
    expect(broken.problems).toEqual([{ field: "capabilities", message: "not valid JSON: imported as []" }]);
  });

  it("stores empty optional PHP strings as null, and keeps everything else as it was", () => {
    const s = server({ ws_url: "", voice_url: "", description: "", version: "2.0", user_count: 12, channel_count: 3, verified: 1 });
    expect(s.record).toMatchObject({ wsUrl: null, voiceUrl: null, description: null, version: "2.0", userCount: 12, channelCount: 3, verified: true });
    expect(s.record.createdAtMs).toBe(NOW - 10 * DAY_MS);
  });

  it("is offline when last_seen is OFFLINE_AFTER_S old or older, online otherwise", () => {
    expect(server({ last_seen: new Date(NOW - 300_000) }).record.status).toBe("offline");
    expect(server({ last_seen: new Date(NOW - 299_000) }).record.status).toBe("online");
    const future = server({ last_seen: new Date(NOW + 3_600_000) });
    expect(future.record.lastSeenMs).toBe(NOW);
    expect(future.problems).toEqual([{ field: "last_seen", message: "in the future: set to the import time" }]);
  });

  it("hashes the token; sliding expiry from PHP (or last_seen + TOKEN_TTL_DAYS without one), absolute from the import", () => {
    const s = server();
    expect(s.record.tokenHash).toBe(hashToken(TOKEN).toString("hex"));
    expect(s.record.tokenIssuedMs).toBe(NOW);
    expect(s.tokenExpiresMs).toBe(NOW + 100 * DAY_MS);
    expect(s.tokenState).toBe("valid");
    expect(server({ token_expires_at: null }).tokenExpiresMs).toBe(NOW - 60_000 + 365 * DAY_MS);
    // TOKEN_MAX_AGE_DAYS=30 caps a PHP expiry 100 days out at 30 days from the import.
    expect(server({}, settings({ tokenMaxAgeDays: 30 })).tokenExpiresMs).toBe(NOW + 30 * DAY_MS);
    expect(server({ token_expires_at: new Date(NOW - 1) }).tokenState).toBe("expired");
    const bad = server({ server_token: TOKEN.toUpperCase() });
    expect(bad.tokenState).toBe("malformed");
    expect(bad.problems.map((p) => p.field)).toEqual(["server_token"]);
  });

  it("reports the §2 rules a row breaks, checked by the registration schema (ALLOW_INSECURE_URLS included)", () => {
    const insecure = { api_url: "http://chat.example.com/api", ws_url: "ws://chat.example.com/ws" };
    expect(server(insecure).problems.map((p) => p.field)).toEqual(["api_url", "ws_url"]);
    expect(server(insecure, settings({ schemas: makeServerSchemas({ allowInsecureUrls: true }) })).problems).toEqual([]);
    expect(server({ name: "  " }).problems).toEqual([{ field: "name", message: "must be 1–100 characters after trimming" }]);
    expect(server({ user_count: -4 }).problems).toEqual([{ field: "user_count", message: "-4 is not a count: imported as 0" }]);
  });
});

describe("convertRatings", () => {
  const at = (ms: number) => new Date(NOW - ms);
  const rating = (id: number, over: Partial<PhpRatingRow> = {}): PhpRatingRow => ({
    id, domain: "Chat.Example.com", user_id: "alice", rating: 4, comment: null, created_at: at(DAY_MS), ...over,
  });
  const domainOf = (d: string) => (d.toLowerCase() === "chat.example.com" ? "chat.example.com" : undefined);

  it("keeps one rating per user and server, the newest (then the higher id), and lists the older ones", () => {
    const r = convertRatings(
      [rating(1, { created_at: at(3 * DAY_MS) }), rating(2, { created_at: at(DAY_MS), rating: 2 }), rating(3, { created_at: at(DAY_MS), rating: 5 }), rating(4, { user_id: "bob" })],
      domainOf, 128,
    );
    expect(r.byDomain.get("chat.example.com")!.map((x) => [x.userId, x.rating, x.sourceId])).toEqual([["alice", 5, 3], ["bob", 4, 4]]);
    expect(r.superseded.map((x) => x.sourceId).sort()).toEqual([1, 2]);
  });

  it("treats user ids differing only by trailing spaces as one user, as the unique key does", () => {
    const r = convertRatings([rating(1, { user_id: "bob " }), rating(2, { user_id: "bob", created_at: at(0) })], domainOf, 128);
    expect(r.byDomain.get("chat.example.com")!.map((x) => x.sourceId)).toEqual([2]);
  });

  it("reports ratings outside 1–5 and user ids wider than the column; drops those of unknown servers", () => {
    const r = convertRatings(
      [rating(1, { rating: 0 }), rating(2, { rating: 6 }), rating(3, { user_id: "u".repeat(129) }), rating(4, { domain: "other.example.com" })],
      domainOf, 128,
    );
    expect(r.byDomain.size).toBe(0);
    expect(r.invalid).toEqual([
      { sourceId: 1, domain: "chat.example.com", reason: "rating 0 is not 1–5" },
      { sourceId: 2, domain: "chat.example.com", reason: "rating 6 is not 1–5" },
      { sourceId: 3, domain: "chat.example.com", reason: "user id longer than 128 characters" },
    ]);
  });
});
