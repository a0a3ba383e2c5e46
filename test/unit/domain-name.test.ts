// Unit tests for domain-name normalisation (contract §2 `domain`).
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { isSameOrSubdomain, normalizeDomain } from "../../src/domain/domain-name.js";

const label63 = "a".repeat(63);
const domain253 = [label63, label63, label63, "a".repeat(61)].join(".");

describe("normalizeDomain", () => {
  it.each([
    ["example.com", "example.com"],
    ["chat.example.com", "chat.example.com"],
    ["Example.COM", "example.com"],
    ["Bücher.example", "xn--bcher-kva.example"],
    ["BÜCHER.example", "xn--bcher-kva.example"],
    ["xn--bcher-kva.example", "xn--bcher-kva.example"],
    ["münchen.de", "xn--mnchen-3ya.de"],
    ["ｅｘａｍｐｌｅ.com", "example.com"],
    ["a-b.example", "a-b.example"],
    ["1password.com", "1password.com"],
    ["a.b", "a.b"],
    ["example.xn--p1ai", "example.xn--p1ai"],
    [`${label63}.com`, `${label63}.com`],
    [domain253, domain253],
  ])("accepts %s as %s", (input, expected) => {
    expect(normalizeDomain(input)).toBe(expected);
  });

  it.each([
    ["an empty string", ""],
    ["a single label", "localhost"],
    ["a trailing dot", "example.com."],
    ["a trailing ideographic full stop", "example.com。"],
    ["a leading dot", ".example.com"],
    ["an empty inner label", "a..example"],
    ["a leading hyphen", "-a.example"],
    ["a trailing hyphen in a label", "a-.example"],
    ["a hyphen-only label", "-.example"],
    ["a 64-character label", `${"a".repeat(64)}.com`],
    ["a 254-character name", `a${domain253}`],
    ["an IPv4 dotted quad", "192.168.0.1"],
    ["an all-numeric TLD", "example.123"],
    ["a hexadecimal TLD a URL parser reads as IPv4", "example.0x1f"],
    ["a bracketed IPv6 literal", "[::1]"],
    ["a bare IPv6 literal", "::1"],
    ["a host with a port", "example.com:443"],
    ["leading whitespace", " example.com"],
    ["trailing whitespace", "example.com "],
    ["a trailing newline", "example.com\n"],
    ["inner whitespace", "exa mple.com"],
    ["an underscore", "my_host.example"],
    ["a slash", "example.com/path"],
    ["an at sign", "user@example.com"],
    ["a zero-width space", "exa\u200bmple.com"],
    ["a control character", "exa\u0001mple.com"],
    ["a lone surrogate", "exa\ud800mple.com"],
    ["an invalid A-label", "xn--abc-.example"],
    ["an A-label that decodes to ASCII", "xn--abc-.com"],
    ["an A-label of upper-case Unicode (not canonical)", "xn--bcher-2pa.example"],
    ["a huge input", "a.".repeat(2000) + "com"],
  ])("rejects %s", (_what, input) => {
    expect(normalizeDomain(input)).toBeNull();
  });

  it("returns a fixed point of at most 253 characters for anything it accepts", () => {
    const unicodeLabel = fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 });
    const asciiLabel = fc.stringMatching(/^[A-Za-z0-9-]{1,70}$/);
    const name = fc.array(fc.oneof(unicodeLabel, asciiLabel), { minLength: 1, maxLength: 6 }).map((l) => l.join("."));
    fc.assert(
      fc.property(fc.oneof(name, fc.string()), (input) => {
        const normalized = normalizeDomain(input);
        if (normalized === null) return;
        expect(normalized.length).toBeLessThanOrEqual(253);
        expect(normalizeDomain(normalized)).toBe(normalized);
      }),
      { numRuns: 2000 },
    );
  });

  it("agrees with the WHATWG URL parser on the host of an accepted name", () => {
    for (const input of ["Bücher.example", "ｅｘａｍｐｌｅ.com", "Straße.example", "EXAMPLE.org"]) {
      expect(new URL(`https://${input}/`).hostname).toBe(normalizeDomain(input));
    }
  });
});

describe("isSameOrSubdomain", () => {
  it.each([
    ["example.com", "example.com", true],
    ["api.example.com", "example.com", true],
    ["a.b.example.com", "example.com", true],
    ["example.com.attacker.net", "example.com", false],
    ["evilexample.com", "example.com", false],
    ["example.com", "api.example.com", false],
    ["com", "example.com", false],
    ["example.com", "", false],
  ])("says %s under %s is %s", (host, domain, expected) => {
    expect(isSameOrSubdomain(host, domain)).toBe(expected);
  });
});
