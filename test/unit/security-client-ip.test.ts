// TRUSTED_PROXIES parsing and client IP resolution from the peer and X-Forwarded-For (contract §3).

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from "../../src/security/cloudflare-ranges.js";
import { ipLimitKey, parseTrustedProxies, resolveClientIp } from "../../src/security/client-ip.js";
import { formatIp, normaliseIp } from "../../src/security/ip-address.js";

describe("parseTrustedProxies", () => {
  it.each([undefined, "", "  ", ","])("trusts nobody when the value is %j", (value) => {
    const set = parseTrustedProxies(value);
    expect(set.size).toBe(0);
    expect(set.has("127.0.0.1")).toBe(false);
  });

  it("accepts CIDRs and bare addresses with spaces around the commas", () => {
    const set = parseTrustedProxies(" 10.0.0.0/8 , 127.0.0.1,::1, fd00::/8 ");
    expect(set.toString()).toBe("10.0.0.0/8,127.0.0.1/32,::1/128,fd00::/8");
  });

  it("expands cloudflare to every published IPv4 and IPv6 range", () => {
    const set = parseTrustedProxies("cloudflare");
    expect(set.size).toBe(CLOUDFLARE_IPV4.length + CLOUDFLARE_IPV6.length);
    expect(set.size).toBe(22);
    for (const ip of ["173.245.48.1", "104.16.0.1", "131.0.75.255", "2606:4700::1", "2a06:98c7::1"]) {
      expect(set.has(ip)).toBe(true);
    }
    for (const ip of ["173.245.64.0", "8.8.8.8", "2606:4701::1", "2a06:98c8::1"]) {
      expect(set.has(ip)).toBe(false);
    }
  });

  it("combines the cloudflare preset with other entries, in any case", () => {
    const set = parseTrustedProxies("10.0.0.1,Cloudflare");
    expect(set.has("10.0.0.1")).toBe(true);
    expect(set.has("::ffff:162.158.1.1")).toBe(true);
  });

  it.each([
    ["10.0.0.0/8,nonsense", /TRUSTED_PROXIES: invalid CIDR "nonsense"/],
    ["10.0.0.1/24", /TRUSTED_PROXIES: .*host bits are set/],
    ["cloudflare-ish", /TRUSTED_PROXIES: invalid CIDR "cloudflare-ish"/],
    ["1.2.3.4/40", /TRUSTED_PROXIES: .*prefix length/],
  ])("refuses %j with a message naming the bad entry", (value, message) => {
    expect(() => parseTrustedProxies(value)).toThrow(message);
  });
});

describe("resolveClientIp", () => {
  const trusted = parseTrustedProxies("10.0.0.0/8,::1,2001:db8:ffff::/48");

  it.each([
    // [what, peer, xff, expected]
    ["ignores XFF spoofed by an untrusted peer", "203.0.113.9", "1.1.1.1", "203.0.113.9"],
    ["ignores a spoofed trusted-looking XFF from an untrusted peer", "203.0.113.9", "10.0.0.1", "203.0.113.9"],
    ["uses the peer when a trusted peer sends no XFF", "10.0.0.2", undefined, "10.0.0.2"],
    ["uses the peer when a trusted peer sends an empty XFF", "10.0.0.2", "", "10.0.0.2"],
    ["takes the single hop behind a trusted proxy", "10.0.0.2", "198.51.100.1", "198.51.100.1"],
    ["takes the right-most untrusted hop, not the spoofable left-most",
      "10.0.0.2", "1.1.1.1, 198.51.100.1", "198.51.100.1"],
    ["skips trusted hops from the right", "10.0.0.2", "1.1.1.1, 198.51.100.1, 10.9.9.9, 10.8.8.8", "198.51.100.1"],
    ["returns the left-most hop when every hop is trusted", "10.0.0.2", "10.0.0.5, 10.0.0.4", "10.0.0.5"],
    ["ignores empty list items", "10.0.0.2", " , 198.51.100.1,,10.0.0.3 ,", "198.51.100.1"],
    ["takes headers joined from several lines", "10.0.0.2", "7.7.7.7, 198.51.100.1,10.0.0.3", "198.51.100.1"],
    ["stops at garbage and returns the last trusted hop", "10.0.0.2", "1.1.1.1, garbage, 10.0.0.3", "10.0.0.3"],
    ["stops at garbage right next to the peer", "10.0.0.2", "1.1.1.1, unknown", "10.0.0.2"],
    ["treats a hop with a port as garbage", "10.0.0.2", "198.51.100.1:4711", "10.0.0.2"],
    ["treats a bracketed IPv6 hop as garbage", "10.0.0.2", "[2001:db8::1]", "10.0.0.2"],
    ["treats a zone id as garbage", "10.0.0.2", "fe80::1%eth0", "10.0.0.2"],
  ])("%s", (_what, peer, xff, expected) => {
    expect(resolveClientIp(peer, xff, trusted)).toBe(expected);
  });

  it.each([
    ["maps an IPv4-mapped peer to plain IPv4", "::ffff:203.0.113.9", undefined, "203.0.113.9"],
    ["matches an IPv4-mapped peer against IPv4 ranges", "::ffff:10.0.0.2", "198.51.100.1", "198.51.100.1"],
    ["matches a long-form uWS peer against IPv4 ranges",
      "0000:0000:0000:0000:0000:ffff:0a00:0002", "198.51.100.1", "198.51.100.1"],
    ["writes a long-form loopback peer canonically", "0000:0000:0000:0000:0000:0000:0000:0001",
      "2001:DB8:0:0:0:0:0:7", "2001:db8::7"],
    ["trusts the IPv6 loopback proxy", "::1", "2001:db8::7", "2001:db8::7"],
    ["skips trusted IPv6 hops", "::1", "2001:db8::7, 2001:db8:ffff:1::2", "2001:db8::7"],
    ["maps IPv4-mapped hops to plain IPv4", "::1", "::ffff:198.51.100.1", "198.51.100.1"],
    ["skips IPv4-mapped trusted hops", "::1", "198.51.100.1, ::ffff:10.1.1.1", "198.51.100.1"],
    ["returns an untrusted long-form peer in short form", "2001:0db8:0000:0000:0000:0000:0000:0009",
      "1.2.3.4", "2001:db8::9"],
  ])("%s", (_what, peer, xff, expected) => {
    expect(resolveClientIp(peer, xff, trusted)).toBe(expected);
  });

  it("follows a Cloudflare edge to the visitor and ignores what the visitor claimed", () => {
    const cf = parseTrustedProxies("cloudflare");
    expect(resolveClientIp("172.70.1.2", "10.0.0.1, 203.0.113.50", cf)).toBe("203.0.113.50");
    expect(resolveClientIp("2a06:98c0::5", "2001:db8::50", cf)).toBe("2001:db8::50");
    expect(resolveClientIp("203.0.113.50", "172.70.1.2", cf)).toBe("203.0.113.50");
  });

  it("trusts no XFF at all when TRUSTED_PROXIES is unset", () => {
    expect(resolveClientIp("127.0.0.1", "1.2.3.4", parseTrustedProxies(undefined))).toBe("127.0.0.1");
  });

  it("returns a peer that is not an address unchanged", () => {
    expect(resolveClientIp("", "1.2.3.4", trusted)).toBe("");
  });

  describe("property", () => {
    const trustedV4 = fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }))
      .map(([a, b]) => `10.${a}.${b}.1`);
    const trustedV6 = fc.integer({ min: 0, max: 0xffff }).map((n) => `2001:db8:ffff:${n.toString(16)}::1`);
    const untrustedV4 = fc.ipV4().filter((ip) => !trusted.has(ip));
    const untrustedV6 = fc.ipV6().filter((ip) => !trusted.has(ip));
    const mapped = fc.oneof(trustedV4, untrustedV4).map((ip) => `::ffff:${ip}`);
    const garbage = fc.constantFrom("unknown", "garbage", "1.2.3.4:80", "[::1]", "999.1.1.1", "_", "fe80::1%lo");
    const address = fc.oneof(trustedV4, trustedV6, untrustedV4, untrustedV6, mapped, fc.constant("::1"));
    const hop = fc.oneof({ arbitrary: address, weight: 6 }, { arbitrary: garbage, weight: 1 });

    it("returns the peer or one XFF hop, trusted only when every hop walked is trusted", () => {
      fc.assert(
        fc.property(address, fc.array(hop, { maxLength: 8 }), fc.constantFrom(", ", ","), (peer, hops, sep) => {
          const result = resolveClientIp(peer, hops.join(sep), trusted);
          const candidates = [peer, ...hops].map(normaliseIp);
          expect(candidates).toContain(result);
          if (trusted.has(result)) {
            // Every hop right of the right-most garbage entry, and the peer, must be trusted.
            const lastGarbage = hops.map(normaliseIp).lastIndexOf(null);
            const walked = [peer, ...hops.slice(lastGarbage + 1)];
            expect(walked.every((ip) => trusted.has(ip))).toBe(true);
          }
        }),
        { numRuns: 2000 },
      );
    });

    it("never lets an untrusted peer choose its address through XFF", () => {
      fc.assert(
        fc.property(fc.oneof(untrustedV4, untrustedV6), fc.array(hop, { maxLength: 8 }), (peer, hops) => {
          expect(resolveClientIp(peer, hops.join(","), trusted)).toBe(normaliseIp(peer));
        }),
      );
    });
  });
});

describe("ipLimitKey", () => {
  it("keys IPv6 clients by their /64 and IPv4 clients by their address (contract §10)", () => {
    expect(ipLimitKey("2001:db8:1:2::1")).toBe("2001:db8:1:2::/64");
    expect(ipLimitKey("2001:db8:1:2:ffff:ffff:ffff:ffff")).toBe("2001:db8:1:2::/64");
    expect(ipLimitKey("2001:db8:1:3::1")).toBe("2001:db8:1:3::/64");
    expect(ipLimitKey("::1")).toBe("::/64");
    expect(ipLimitKey("203.0.113.9")).toBe("203.0.113.9");
    expect(ipLimitKey("")).toBe("");
  });

  it("gives every address of one /64 the same key and no two /64s the same key", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }), (prefix, host, other) => {
        const ip = (p: bigint, h: bigint) => formatIp((p << 64n) | h);
        // IPv4-mapped space (::ffff:0:0/96) lies in prefix 0; keep to real IPv6 prefixes.
        fc.pre(prefix !== 0n && ((prefix + other) & ((1n << 64n) - 1n)) !== 0n);
        expect(ipLimitKey(ip(prefix, host))).toBe(ipLimitKey(ip(prefix, 0n)));
        expect(ipLimitKey(ip(prefix, host))).not.toBe(ipLimitKey(ip((prefix + other) & ((1n << 64n) - 1n), host)));
      }),
    );
  });
});
