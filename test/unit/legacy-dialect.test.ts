// The legacy dialect's translation (contract §7): times, the bare row, camelCase bodies onto the /v1 schemas, error
// texts naming the legacy field, and the PHP-style listing parameters.
import { describe, expect, it } from "vitest";
import { ServerRecord } from "../../src/core/record.js";
import { Heartbeat, makeServerSchemas, zodIssuesToDetails } from "../../src/domain/schemas.js";
import { InvalidJsonError, NotFoundError, RateLimitedError, TokenExpiredError, UnauthorizedError, ValidationError } from "../../src/core/errors.js";
import { legacyErrorText } from "../../src/http/legacy/errors.js";
import { legacyListQuery, legacyRatingsParams, phpInt } from "../../src/http/legacy/query.js";
import { legacyRating, legacyRegistration, legacyStats, legacyUpdate } from "../../src/http/legacy/requests.js";
import { LEGACY_ROW_KEYS, legacyRatingsPage, legacyRow, legacyTime } from "../../src/http/legacy/wire.js";

const schemas = makeServerSchemas({ allowInsecureUrls: false });

/** What the legacy edge does with a registration: translate, parse with the /v1 schema, render the error. */
function register(body: unknown): { ok: Record<string, unknown> } | { error: string } {
  try {
    const parsed = schemas.RegisterServer.safeParse(legacyRegistration(body));
    if (parsed.success) return { ok: parsed.data as Record<string, unknown> };
    return { error: legacyErrorText(new ValidationError("x", zodIssuesToDetails(parsed.error))) };
  } catch (err) {
    return { error: legacyErrorText(err as ValidationError) };
  }
}

const LEGACY_BODY = {
  domain: "Chat.Example.com", name: "Chat", apiUrl: "https://chat.example.com/api", wsUrl: "wss://chat.example.com/ws",
  voiceUrl: "https://voice.example.net", voiceProvider: "livekit", cdnUrl: "", capabilities: { voice: true, video: false },
  protocols: ["zent-v1"], description: "hi", icon: null, version: "1.0", serverToken: "ignored", userCount: 5, unknown: 1,
};

describe("legacy wire format", () => {
  it("writes times as YYYY-MM-DD HH:MM:SS in UTC", () => {
    expect(legacyTime(Date.UTC(2026, 10, 22, 13, 0, 5, 789))).toBe("2026-11-22 13:00:05");
  });

  it("builds the bare row with exactly the PHP keys in order, nulls for unset fields, the real status", () => {
    const r = new ServerRecord("chat.example.com", "local");
    r.applyFields({ name: "Chat", api_url: "https://chat.example.com/api", capabilities: ["voice"] });
    r.status = "offline";
    r.lastSeenMs = Date.UTC(2026, 0, 2, 3, 4, 5);
    r.createdAtMs = Date.UTC(2025, 0, 1);
    const row = legacyRow(r);
    expect(Object.keys(row)).toEqual([...LEGACY_ROW_KEYS]);
    expect(row).toMatchObject({ ws_url: null, voice_url: null, capabilities: ["voice"], protocols: [], status: "offline", verified: false, user_count: 0 });
    expect(row.last_seen).toBe("2026-01-02 03:04:05");
    expect(row.created_at).toBe("2025-01-01 00:00:00");
  });

  it("answers averageRating null for an unrated server and keeps each rating's id and domain", () => {
    expect(legacyRatingsPage("a.example.com", [], null, 0)).toEqual({ ratings: [], averageRating: null, total: 0 });
    const page = legacyRatingsPage("a.example.com", [{ id: 7, user_id: "u@b.example", rating: 4, comment: null, createdAtMs: 0 }], 4, 1);
    expect(page.ratings[0]).toEqual({ id: 7, domain: "a.example.com", user_id: "u@b.example", rating: 4, comment: null, created_at: "1970-01-01 00:00:00" });
  });
});

describe("legacy request bodies on the /v1 schemas", () => {
  it("maps camelCase keys, turns a capabilities object into its true keys, ignores unknown keys and treats '' as absent", () => {
    const r = register(LEGACY_BODY);
    expect(r).toEqual({
      ok: {
        domain: "chat.example.com", name: "Chat", api_url: "https://chat.example.com/api", ws_url: "wss://chat.example.com/ws",
        voice_url: "https://voice.example.net", voice_provider: "livekit", capabilities: ["voice"], protocols: ["zent-v1"],
        description: "hi", version: "1.0",
      },
    });
  });

  it("requires domain, name, apiUrl and wsUrl, naming the legacy field", () => {
    for (const key of ["domain", "name", "apiUrl", "wsUrl"]) {
      const body: Record<string, unknown> = { ...LEGACY_BODY };
      delete body[key];
      expect(register(body)).toEqual({ error: `Invalid ${key}: required` });
    }
  });

  it("keeps the §2 rules: http URLs, hosts outside the domain, bad capability names are refused naming the legacy field", () => {
    expect(register({ ...LEGACY_BODY, apiUrl: "http://chat.example.com/api" })).toEqual({ error: expect.stringMatching(/^Invalid apiUrl: /) });
    expect(register({ ...LEGACY_BODY, wsUrl: "wss://elsewhere.example.org/ws" })).toEqual({ error: expect.stringMatching(/^Invalid wsUrl: /) });
    expect(register({ ...LEGACY_BODY, capabilities: ["Screen Share"] })).toEqual({ error: expect.stringMatching(/^Invalid capabilities\.0: /) });
    expect(register({ ...LEGACY_BODY, voiceProvider: "x".repeat(51) })).toEqual({ error: expect.stringMatching(/^Invalid voiceProvider: /) });
    expect(register([1, 2])).toEqual({ error: "Invalid request: must be a JSON object" });
  });

  it("splits an update into fields and heartbeat stats; '' or null clears an optional field; nothing given is null", () => {
    expect(legacyUpdate({ name: "New", cdnUrl: "", icon: null, userCount: 4, bogus: true })).toEqual({
      fields: { name: "New", cdn_url: null, icon: null },
      stats: { user_count: 4 },
    });
    expect(legacyUpdate({ bogus: 1 })).toEqual({ fields: null, stats: null });
    expect(legacyUpdate(undefined)).toEqual({ fields: null, stats: null });
  });

  it("reads heartbeat counts and refuses what the /v1 heartbeat refuses", () => {
    expect(legacyStats({ userCount: 3, channelCount: 2, version: "x" })).toEqual({ user_count: 3, channel_count: 2 });
    expect(legacyStats(undefined)).toEqual({});
    const bad = Heartbeat.safeParse(legacyStats({ userCount: -1 }));
    expect(legacyErrorText(new ValidationError("x", zodIssuesToDetails(bad.error!)))).toMatch(/^Invalid userCount: /);
  });

  it("reads a rating given as a numeric string as a number, and nothing else", () => {
    expect(legacyRating({ fromDomain: "a.example", userId: "bob", rating: "4", comment: "ok", extra: 1 })).toEqual({
      from_domain: "a.example", user_id: "bob", rating: 4, comment: "ok",
    });
    expect(legacyRating({ rating: "4.5" }).rating).toBe("4.5");
    expect(legacyRating({ rating: 5 }).rating).toBe(5);
  });
});

describe("legacy error texts", () => {
  it("uses the PHP texts for auth and a string per contract error", () => {
    expect(legacyErrorText(new UnauthorizedError("x"))).toBe("Invalid token");
    expect(legacyErrorText(new TokenExpiredError("x"))).toBe("Token expired");
    expect(legacyErrorText(new InvalidJsonError("x"))).toBe("Invalid JSON");
    expect(legacyErrorText(new NotFoundError("x"))).toBe("Server not found");
    expect(legacyErrorText(new RateLimitedError(3))).toBe("Too many requests");
  });
});

describe("legacy listing parameters", () => {
  it("reads integers the way PHP's (int) does", () => {
    expect([phpInt("10"), phpInt("10abc"), phpInt("abc"), phpInt(" 7"), phpInt("-3"), phpInt("1e2"), phpInt("2.9"), phpInt(""), phpInt(undefined)]).toEqual([
      10, 10, 0, 7, -3, 100, 2, 0, null,
    ]);
    expect(phpInt("9".repeat(400))).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("clamps limit to 1–100 and offset to 0–10000 instead of refusing", () => {
    expect(legacyListQuery({})).toMatchObject({ limit: 50, offset: 0, sort: "users", order: "desc", search: undefined });
    expect(legacyListQuery({ limit: "0", offset: "-5" })).toMatchObject({ limit: 1, offset: 0 });
    expect(legacyListQuery({ limit: "1000", offset: "99999" })).toMatchObject({ limit: 100, offset: 10_000 });
    expect(legacyListQuery({ limit: "abc" })).toMatchObject({ limit: 1 });
    expect(legacyRatingsParams({})).toEqual({ limit: 20, offset: 0 });
    expect(legacyRatingsParams({ limit: "500" })).toEqual({ limit: 100, offset: 0 });
  });

  it("maps the PHP sorts and falls back to user_count for any other", () => {
    expect(legacyListQuery({ sort: "created_at" })).toMatchObject({ sort: "created", order: "desc" });
    expect(legacyListQuery({ sort: "name" })).toMatchObject({ sort: "name", order: "asc" });
    expect(legacyListQuery({ sort: "rating; DROP TABLE" })).toMatchObject({ sort: "users", order: "desc" });
  });

  it("keeps search literal and bounded like q", () => {
    expect(legacyListQuery({ search: "50%_off" }).search).toBe("50%_off");
    expect(() => legacyListQuery({ search: "x".repeat(101) })).toThrow(ValidationError);
  });
});
