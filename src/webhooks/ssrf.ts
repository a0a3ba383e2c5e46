// SSRF guard for webhook targets: resolves a host and refuses addresses that are not public unicast (issue 4).
import { lookup as dnsLookup } from "node:dns";
import { isIP } from "node:net";
import { CidrSet, parseCidr } from "../security/cidr.js";
import { formatIp, isIpv4, parseIp, type IpAddress } from "../security/ip-address.js";

// Everything a request from inside the registrar's network could reach but the public internet could not, plus
// ranges that are never a real destination. IANA special-purpose registries (RFC 6890 and updates).
const BLOCKED = new CidrSet(
  [
    "0.0.0.0/8", // "this network", includes the unspecified 0.0.0.0
    "10.0.0.0/8", // private (RFC 1918)
    "100.64.0.0/10", // carrier-grade NAT (RFC 6598)
    "127.0.0.0/8", // loopback
    "169.254.0.0/16", // link-local, cloud metadata (169.254.169.254)
    "172.16.0.0/12", // private
    "192.0.0.0/24", // IETF protocol assignments
    "192.0.2.0/24", // TEST-NET-1
    "192.88.99.0/24", // 6to4 relay anycast (deprecated)
    "192.168.0.0/16", // private
    "198.18.0.0/15", // benchmarking
    "198.51.100.0/24", // TEST-NET-2
    "203.0.113.0/24", // TEST-NET-3
    "224.0.0.0/4", // multicast
    "240.0.0.0/4", // reserved, includes broadcast 255.255.255.255
    "::/128", // unspecified
    "::1/128", // loopback
    "::/96", // IPv4-compatible (deprecated): would reach an IPv4 address by another spelling
    "100::/64", // discard-only
    "2001:db8::/32", // documentation
    "fc00::/7", // unique local
    "fe80::/10", // link-local
    "fec0::/10", // site-local (deprecated)
    "ff00::/8", // multicast
  ].map(parseCidr),
);

// Prefixes that embed an IPv4 address in their low 32 bits (NAT64 RFC 6052, 6to4 RFC 3056 in bits 80..111):
// the embedded address decides, so `64:ff9b::a00:1` is as private as 10.0.0.1.
const NAT64 = parseCidr("64:ff9b::/96");
const NAT64_LOCAL = parseCidr("64:ff9b:1::/48");
const SIX_TO_FOUR = parseCidr("2002::/16");
const V4_MAPPED = 0xffffn << 32n;

function inCidr(ip: IpAddress, c: { network: IpAddress; prefixLength: number }): boolean {
  const shift = BigInt(128 - c.prefixLength);
  return ip >> shift === c.network >> shift;
}

/** Why this address may not be a webhook target, or null when it is public unicast. */
export function blockedReason(address: string): string | null {
  const ip = parseIp(address.startsWith("[") && address.endsWith("]") ? address.slice(1, -1) : address);
  if (ip === null) return "is not an IP address";
  if (BLOCKED.has(ip)) return `${formatIp(ip)} is a private, loopback, link-local or reserved address`;
  let embedded: IpAddress | null = null;
  if (inCidr(ip, NAT64) || inCidr(ip, NAT64_LOCAL)) embedded = V4_MAPPED | (ip & 0xffffffffn);
  else if (inCidr(ip, SIX_TO_FOUR)) embedded = V4_MAPPED | ((ip >> 80n) & 0xffffffffn);
  if (embedded !== null && !isIpv4(ip) && BLOCKED.has(embedded)) {
    return `${formatIp(ip)} embeds ${formatIp(embedded)}, a private, loopback, link-local or reserved address`;
  }
  return null;
}

export type LookupAll = (host: string) => Promise<{ address: string; family: number }[]>;

const LOOKUP_TIMEOUT_MS = 5000;

/** dns.lookup (the system resolver, /etc/hosts included) with all addresses, bounded in time. */
export const systemLookupAll: LookupAll = (host) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(Object.assign(new Error(`DNS lookup of ${host} timed out`), { code: "ETIMEOUT" })), LOOKUP_TIMEOUT_MS);
    timer.unref();
    dnsLookup(host, { all: true, verbatim: true }, (err, addresses) => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(addresses);
    });
  });

export class TargetRefusedError extends Error {}

/**
 * The addresses a webhook request to `hostname` (as WHATWG URL gives it, IPv6 in brackets) may connect to.
 * Every resolved address must be allowed, not just one: the client may pick any of them, and a rebinding
 * resolver could answer differently on the connect. Callers pin the connection to the returned addresses.
 */
export async function resolveTarget(hostname: string, opts: { allowPrivate: boolean; lookup?: LookupAll }): Promise<{ address: string; family: 4 | 6 }[]> {
  const host = hostname.startsWith("[") && hostname.endsWith("]") ? hostname.slice(1, -1) : hostname;
  let found: { address: string; family: number }[];
  if (isIP(host)) {
    found = [{ address: host, family: isIP(host) }];
  } else {
    try {
      found = await (opts.lookup ?? systemLookupAll)(host);
    } catch (err) {
      const code = (err as { code?: string }).code;
      throw new TargetRefusedError(`${host} does not resolve${code ? ` (${code})` : ""}`, { cause: err });
    }
  }
  if (found.length === 0) throw new TargetRefusedError(`${host} does not resolve`);
  if (!opts.allowPrivate) {
    for (const a of found) {
      const reason = blockedReason(a.address);
      if (reason) throw new TargetRefusedError(host === a.address ? `${reason}` : `${host} resolves to ${a.address}: ${reason}`);
    }
  }
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
}
