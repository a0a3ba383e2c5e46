// IP address text ⇄ one 128-bit number, so IPv4, IPv6 and IPv4-mapped IPv6 compare alike.

import { isIP } from "node:net";

/**
 * An address as a 128-bit unsigned integer. IPv4 `a.b.c.d` is stored as its IPv4-mapped IPv6 twin
 * `::ffff:a.b.c.d` (RFC 4291 §2.5.5.2): a dual-stack socket reports IPv4 peers that way, and one
 * number space means an IPv4 range matches both spellings of the same peer.
 */
export type IpAddress = bigint;

const V4_MAPPED_HIGH = 0xffffn; // bits 32..47 of ::ffff:0:0/96
const V4_MAPPED_PREFIX: IpAddress = V4_MAPPED_HIGH << 32n;

/** Parses an IPv4 or IPv6 literal; anything else (zone ids, brackets, ports, spaces) is null. */
export function parseIp(text: string): IpAddress | null {
  const family = isIP(text);
  if (family === 4) return V4_MAPPED_PREFIX | parseIpv4(text);
  // A zone id (`fe80::1%eth0`) names a local interface, not a client; it cannot be a proxy hop.
  if (family === 6 && !text.includes("%")) return parseIpv6(text);
  return null;
}

/** True for addresses in ::ffff:0:0/96, i.e. IPv4 addresses. */
export function isIpv4(ip: IpAddress): boolean {
  return ip >> 32n === V4_MAPPED_HIGH;
}

/**
 * Canonical text: dotted quad for IPv4 (mapped or not), RFC 5952 for IPv6 (lower case, no leading
 * zeros, the longest run of two or more zero groups compressed, the first one on a tie), so one
 * client is one rate-limit key and one log value whatever spelling the socket used.
 */
export function formatIp(ip: IpAddress): string {
  if (isIpv4(ip)) {
    const v4 = Number(ip & 0xffffffffn);
    return [v4 >>> 24, (v4 >>> 16) & 0xff, (v4 >>> 8) & 0xff, v4 & 0xff].join(".");
  }
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((ip >> shift) & 0xffffn));
  const [runStart, runLength] = longestZeroRun(groups);
  const hex = groups.map((g) => g.toString(16));
  if (runLength < 2) return hex.join(":");
  return `${hex.slice(0, runStart).join(":")}::${hex.slice(runStart + runLength).join(":")}`;
}

/** `parseIp` then `formatIp`: null for anything that is not an address. */
export function normaliseIp(text: string): string | null {
  const ip = parseIp(text);
  return ip === null ? null : formatIp(ip);
}

function parseIpv4(text: string): IpAddress {
  let value = 0n;
  for (const octet of text.split(".")) value = (value << 8n) | BigInt(Number(octet));
  return value;
}

// Only called after net.isIP said "6", so the syntax is known to be valid.
function parseIpv6(text: string): IpAddress {
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const headGroups = toGroups(head);
  const tailGroups = tail === undefined ? [] : toGroups(tail);
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...new Array<number>(missing).fill(0), ...tailGroups];
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

function toGroups(part: string): number[] {
  if (part === "") return [];
  const groups: number[] = [];
  for (const piece of part.split(":")) {
    if (piece.includes(".")) {
      // Embedded dotted quad (`::ffff:1.2.3.4`) fills the last two groups.
      const v4 = Number(parseIpv4(piece));
      groups.push(v4 >>> 16, v4 & 0xffff);
    } else {
      groups.push(parseInt(piece, 16));
    }
  }
  return groups;
}

function longestZeroRun(groups: number[]): [start: number, length: number] {
  let best: [number, number] = [0, 0];
  let start = -1;
  for (let i = 0; i <= groups.length; i++) {
    if (i < groups.length && groups[i] === 0) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start > best[1]) best = [start, i - start];
      start = -1;
    }
  }
  return best;
}
