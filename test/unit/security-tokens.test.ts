// Token generation, hashing, constant-time matching, Bearer parsing and expiry (contract §3 "Auth and tokens").

import { describe, expect, it } from "vitest";
import { generateToken, hashToken, isTokenExpired, tokenExpiry, tokensMatch } from "../../src/core/tokens.js";
import { parseBearer } from "../../src/security/tokens.js";

const DAY_MS = 86_400_000;

describe("generateToken", () => {
  it("makes 64 lower-case hex characters, different every time", () => {
    const tokens = new Set(Array.from({ length: 1000 }, generateToken));
    expect(tokens.size).toBe(1000);
    for (const t of tokens) expect(t).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("hashToken", () => {
  it("is SHA-256: 32 bytes, a known vector", () => {
    const hash = hashToken("a".repeat(64));
    expect(hash).toHaveLength(32);
    // echo -n aaaa…(64) | sha256sum
    expect(hash.toString("hex")).toBe("ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
  });
});

describe("tokensMatch", () => {
  const token = generateToken();
  const stored = hashToken(token);

  it("accepts the token behind the stored hash", () => {
    expect(tokensMatch(token, stored)).toBe(true);
  });

  it.each([
    ["another valid token", generateToken()],
    ["the token in upper case", token.toUpperCase()],
    ["the token with one digit changed", token.slice(0, 63) + (token[63] === "0" ? "1" : "0")],
    ["the token with a trailing newline", `${token}\n`],
    ["the token with surrounding spaces", ` ${token} `],
    ["a prefix of the token", token.slice(0, 63)],
    ["the token twice", token + token],
    ["the empty string", ""],
    ["the stored hash itself in hex", stored.toString("hex").replace(/./, "g")],
    ["non-hex of the right length", "z".repeat(64)],
  ])("rejects %s", (_what, presented) => {
    expect(tokensMatch(presented, stored)).toBe(false);
  });

  it("rejects anything when the stored hash has the wrong length", () => {
    expect(tokensMatch(token, stored.subarray(0, 31))).toBe(false);
    expect(tokensMatch(token, Buffer.alloc(0))).toBe(false);
  });
});

describe("parseBearer", () => {
  const t = "0123456789abcdef".repeat(4);
  it.each([
    [`Bearer ${t}`, t],
    [`bearer ${t}`, t],
    [`BEARER ${t}`, t],
    [`Bearer   ${t}`, t],
    [` Bearer ${t} `, t],
    ["Bearer abc-._~+/==", "abc-._~+/=="],
    [undefined, null],
    ["", null],
    ["Bearer", null],
    ["Bearer ", null],
    [`Bearer ${t} extra`, null],
    [`Bearer ${t},${t}`, null],
    [`Basic ${t}`, null],
    [`Bearer${t}`, null],
    [`Bearer\t${t}`, null],
    [`Token ${t}`, null],
    ["Bearer ab=cd", null],
  ])("reads %j as %j", (header, expected) => {
    expect(parseBearer(header)).toBe(expected);
  });
});

describe("tokenExpiry", () => {
  const issuedAtMs = Date.UTC(2026, 0, 1);

  it.each([
    ["slides from the last activity while under the cap", 0, 365, 730, 365 * DAY_MS],
    ["slides from later activity", 100 * DAY_MS, 365, 730, 465 * DAY_MS],
    ["caps at the absolute age however recent the activity", 500 * DAY_MS, 365, 730, 730 * DAY_MS],
    ["takes decimal days for the sliding TTL", 0, 0.5, 730, 12 * 3_600_000],
    ["takes decimal days for the absolute cap", 1000, 1, 0.0001, 8_640],
    ["rounds fractional milliseconds", 0, 1 / 3, 730, 28_800_000],
  ])("%s", (_what, activityOffsetMs, ttlDays, maxAgeDays, expectedOffsetMs) => {
    const expiry = tokenExpiry({ issuedAtMs, lastActivityMs: issuedAtMs + activityOffsetMs, ttlDays, maxAgeDays });
    expect(expiry.expiresAtMs).toBe(issuedAtMs + expectedOffsetMs);
    expect(expiry.absoluteExpiresAtMs).toBe(issuedAtMs + Math.round(maxAgeDays * DAY_MS));
  });

  it.each([
    [{ ttlDays: -1 }],
    [{ maxAgeDays: Number.NaN }],
    [{ issuedAtMs: Number.POSITIVE_INFINITY }],
  ])("refuses nonsense input %j", (override) => {
    const times = { issuedAtMs, lastActivityMs: issuedAtMs, ttlDays: 1, maxAgeDays: 2, ...override };
    expect(() => tokenExpiry(times)).toThrow(RangeError);
  });
});

describe("isTokenExpired", () => {
  const issuedAtMs = 1_000_000;
  const ttlDays = 0.0001; // 8.64 s
  const maxAgeDays = 0.0003; // 25.92 s

  it.each([
    ["is live right after issue", issuedAtMs, issuedAtMs + 1, false],
    ["is live just before the sliding expiry", issuedAtMs, issuedAtMs + 8_639, false],
    ["expires at the sliding expiry instant", issuedAtMs, issuedAtMs + 8_640, true],
    ["stays live while activity keeps sliding it", issuedAtMs + 20_000, issuedAtMs + 25_000, false],
    ["expires at the absolute cap despite fresh activity", issuedAtMs + 25_000, issuedAtMs + 25_920, true],
  ])("%s", (_what, lastActivityMs, nowMs, expected) => {
    expect(isTokenExpired({ issuedAtMs, lastActivityMs, ttlDays, maxAgeDays, nowMs })).toBe(expected);
  });
});
