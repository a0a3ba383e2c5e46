// CORS_ORIGINS parsing and the CORS headers each response gets (contract §1, §3).

import { describe, expect, it } from "vitest";
import { corsHeaders, isOriginAllowed, parseCorsOrigins } from "../../src/security/cors.js";

const EXPOSE =
  "X-Request-Id, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After, Deprecation, Link";

describe("parseCorsOrigins", () => {
  it.each([undefined, "", " , "])("allows no origin when the value is %j", (value) => {
    expect(parseCorsOrigins(value).size).toBe(0);
  });

  it.each([
    ["https://3aka.com", ["https://3aka.com"]],
    ["https://3aka.com, http://localhost:5173", ["https://3aka.com", "http://localhost:5173"]],
    ["HTTPS://3AKA.com:443", ["https://3aka.com"]],
    ["http://example.com:80", ["http://example.com"]],
    ["https://example.com:8443", ["https://example.com:8443"]],
    ["http://[::1]:3000", ["http://[::1]:3000"]],
    ["https://bücher.example", ["https://xn--bcher-kva.example"]],
    ["https://a.example,https://a.example", ["https://a.example"]],
  ])("stores %j in the form browsers send: %j", (value, expected) => {
    expect([...parseCorsOrigins(value)]).toEqual(expected);
  });

  it.each([
    "*",
    "null",
    "3aka.com",
    "https://3aka.com/",
    "https://3aka.com/app",
    "https://3aka.com?x=1",
    "https://3aka.com#x",
    "https://user@3aka.com",
    "https://3aka.com:99999",
    "https://3aka.com:port",
    "ftp://3aka.com",
    "https://",
    "https://3aka .com",
    "https://ok.example,bad",
  ])("refuses %j with a message naming it", (value) => {
    expect(() => parseCorsOrigins(value)).toThrow(/CORS_ORIGINS: ".*" is not an origin/);
  });
});

describe("corsHeaders", () => {
  const allowed = parseCorsOrigins("https://3aka.com,http://localhost:5173");

  it.each([
    ["an allowed origin on a normal response", "https://3aka.com", false, [
      ["Access-Control-Allow-Origin", "https://3aka.com"],
      ["Vary", "Origin"],
      ["Access-Control-Expose-Headers", EXPOSE],
    ]],
    ["an allowed origin on a preflight", "http://localhost:5173", true, [
      ["Access-Control-Allow-Origin", "http://localhost:5173"],
      ["Vary", "Origin"],
      ["Access-Control-Expose-Headers", EXPOSE],
      ["Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS"],
      ["Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-Id"],
      ["Access-Control-Max-Age", "600"],
    ]],
    ["a disallowed origin (only Vary, for caches)", "https://evil.example", false, [["Vary", "Origin"]]],
    ["a disallowed origin on a preflight", "https://evil.example", true, [["Vary", "Origin"]]],
    ["an origin differing only in case", "https://3AKA.com", false, [["Vary", "Origin"]]],
    ["an allowed origin with a trailing slash", "https://3aka.com/", false, [["Vary", "Origin"]]],
    ["the literal null origin", "null", false, [["Vary", "Origin"]]],
    ["a request without Origin", undefined, false, [["Vary", "Origin"]]],
  ] as const)("gives %s the right headers", (_what, origin, preflight, expected) => {
    expect(corsHeaders(origin, allowed, preflight)).toEqual(expected);
  });

  it("never sends Access-Control-* headers to an origin that is not allowed", () => {
    for (const preflight of [false, true]) {
      const names = corsHeaders("https://evil.example", allowed, preflight).map(([name]) => name);
      expect(names.filter((n) => n.startsWith("Access-Control-"))).toEqual([]);
    }
  });

  it("sends nothing at all when CORS is not configured", () => {
    const none = parseCorsOrigins(undefined);
    expect(corsHeaders("https://3aka.com", none, true)).toEqual([]);
    expect(corsHeaders(undefined, none, false)).toEqual([]);
  });

  it.each([
    ["https://3aka.com", true],
    ["https://evil.example", false],
    [undefined, false],
  ])("says whether %s is allowed: %s", (origin, expected) => {
    expect(isOriginAllowed(origin, allowed)).toBe(expected);
  });
});
