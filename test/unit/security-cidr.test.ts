// Address parsing/formatting and CIDR matching across IPv4, IPv6 and IPv4-mapped IPv6.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CidrSet, formatCidr, parseCidr } from "../../src/security/cidr.js";
import { formatIp, isIpv4, normaliseIp, parseIp } from "../../src/security/ip-address.js";

describe("normaliseIp", () => {
  it.each([
    ["127.0.0.1", "127.0.0.1"],
    ["::1", "::1"],
    ["0000:0000:0000:0000:0000:ffff:7f00:0001", "127.0.0.1"],
    ["::ffff:1.2.3.4", "1.2.3.4"],
    ["::FFFF:1.2.3.4", "1.2.3.4"],
    ["::ffff:0102:0304", "1.2.3.4"],
    ["2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"],
    ["1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"],
    ["::", "::"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["::1.2.3.4", "::102:304"],
    ["fe80::", "fe80::"],
  ])("writes %s canonically as %s", (input, expected) => {
    expect(normaliseIp(input)).toBe(expected);
  });

  it.each(["", " 1.2.3.4", "1.2.3.4 ", "01.2.3.4", "1.2.3", "256.1.1.1", "[::1]", "1.2.3.4:80",
    "fe80::1%eth0", "unknown", "::ffff:01.2.3.4", "1::2:3:4:5:6:7:8", "abc"])(
    "rejects %j as not an address",
    (input) => {
      expect(parseIp(input)).toBeNull();
    },
  );
});

describe("normaliseIp property", () => {
  it("agrees with the WHATWG URL serialiser on every non-IPv4 IPv6 address", () => {
    fc.assert(
      fc.property(fc.ipV6(), (text) => {
        const ip = parseIp(text);
        expect(ip).not.toBeNull();
        if (isIpv4(ip!)) return; // URL keeps ::ffff:a.b.c.d as IPv6; we write it as IPv4 on purpose
        expect(formatIp(ip!)).toBe(new URL(`http://[${text}]/`).hostname.slice(1, -1));
      }),
      { numRuns: 2000 },
    );
  });

  it("round-trips every IPv4 address, mapped or not", () => {
    fc.assert(
      fc.property(fc.ipV4(), (text) => {
        expect(normaliseIp(text)).toBe(text);
        expect(normaliseIp(`::ffff:${text}`)).toBe(text);
      }),
    );
  });
});

describe("parseCidr", () => {
  it.each([
    ["10.0.0.0/8", "10.0.0.0/8"],
    ["10.1.2.3", "10.1.2.3/32"],
    ["0.0.0.0/0", "0.0.0.0/0"],
    ["2400:CB00::/32", "2400:cb00::/32"],
    ["::1", "::1/128"],
    ["::/0", "::/0"],
    ["::ffff:10.0.0.0/104", "10.0.0.0/8"],
  ])("parses %s as %s", (input, expected) => {
    expect(formatCidr(parseCidr(input))).toBe(expected);
  });

  it.each([
    ["10.0.0.1/8", /host bits are set \(did you mean 10\.0\.0\.0\/8\?\)/],
    ["10.0.0.0/33", /prefix length must be an integer 0–32/],
    ["2001:db8::/129", /prefix length must be an integer 0–128/],
    ["10.0.0.0/", /prefix length/],
    ["10.0.0.0/-1", /prefix length/],
    ["10.0.0.0/8/8", /prefix length/],
    ["10.0.0/8", /is not an IPv4 or IPv6 address/],
    ["example.com", /is not an IPv4 or IPv6 address/],
    ["", /is not an IPv4 or IPv6 address/],
  ])("refuses %j with a message saying why", (input, message) => {
    expect(() => parseCidr(input)).toThrow(message);
  });
});

describe("CidrSet", () => {
  const set = new CidrSet(["10.0.0.0/8", "192.168.1.7", "2001:db8::/32"].map(parseCidr));

  it.each([
    ["10.200.3.4", true],
    ["11.0.0.0", false],
    ["192.168.1.7", true],
    ["192.168.1.8", false],
    ["::ffff:10.1.1.1", true],
    ["0000:0000:0000:0000:0000:ffff:0a01:0101", true],
    ["2001:db8:ffff::1", true],
    ["2001:db9::1", false],
    ["::1", false],
    ["not an ip", false],
  ])("says %s is in the set: %s", (ip, expected) => {
    expect(set.has(ip)).toBe(expected);
  });

  it("keeps an IPv4 range apart from the IPv6 range with the same bits", () => {
    // 10.0.0.0/8 is ::ffff:a00:0/104, not 0a00::/8.
    expect(set.has("a00::1")).toBe(false);
  });

  it("holds each range once", () => {
    const twice = new CidrSet(["10.0.0.0/8", "10.0.0.0/8"].map(parseCidr));
    expect(twice.size).toBe(1);
    expect(twice.toString()).toBe("10.0.0.0/8");
  });
});
