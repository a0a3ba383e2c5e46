// Who the client is: the socket peer, or the X-Forwarded-For hop named by trusted proxies (contract §3).

import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from "./cloudflare-ranges.js";
import { CidrSet, parseCidr, type Cidr } from "./cidr.js";
import { formatIp, isIpv4, parseIp, type IpAddress } from "./ip-address.js";

/**
 * Parses TRUSTED_PROXIES: comma-separated CIDRs or bare addresses; the token `cloudflare` (any case)
 * expands to Cloudflare's published ranges. Unset or blank means no proxy is trusted, so
 * X-Forwarded-For is ignored. Empty items (`a,,b`, a trailing comma) are skipped; any other invalid
 * item throws, naming it, so a typo fails start-up instead of silently trusting the wrong hosts.
 */
export function parseTrustedProxies(value: string | undefined): CidrSet {
  const cidrs: Cidr[] = [];
  for (const raw of (value ?? "").split(",")) {
    const item = raw.trim();
    if (item === "") continue;
    if (item.toLowerCase() === "cloudflare") {
      for (const range of [...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6]) cidrs.push(parseCidr(range));
      continue;
    }
    try {
      cidrs.push(parseCidr(item));
    } catch (err) {
      throw new Error(`TRUSTED_PROXIES: ${(err as Error).message}`, { cause: err });
    }
  }
  return new CidrSet(cidrs);
}

/**
 * Resolves the client address of one request.
 *
 * - An untrusted peer is the client, whatever X-Forwarded-For says (anyone can send that header).
 * - A trusted peer's X-Forwarded-For is walked right to left (each proxy appends the address it saw)
 *   skipping trusted hops; the first untrusted hop is the client.
 * - A hop that is not a plain address (garbage, `unknown`, a port, brackets) stops the walk: what lies
 *   left of it cannot be trusted, so the last trusted hop seen stands in for the client, never the
 *   garbage itself.
 * - If every hop is trusted, the left-most one is the client (the request started inside).
 *
 * Empty list items are ignored (RFC 9110 §5.6.1). When a request carries several X-Forwarded-For
 * lines the caller joins them with "," in order, which is their defined meaning as one list
 * (src/http/context.ts headerLines). CLIENT_IP_HEADER's value is walked the same way.
 * The result is canonical text (formatIp). A peer that is not an address at all (uWS reports an
 * empty string for some closed sockets) comes back unchanged: there is nothing better to report.
 */
export function resolveClientIp(
  peer: string,
  forwarded: string | undefined | (() => string | undefined),
  trusted: CidrSet,
): string {
  const peerIp = parseIp(peer);
  if (peerIp === null) return peer;
  if (!trusted.has(peerIp)) return formatIp(peerIp);
  // Read only for a trusted peer: collecting every header line costs a walk over all headers.
  const xForwardedFor = typeof forwarded === "function" ? forwarded() : forwarded;
  if (xForwardedFor === undefined) return formatIp(peerIp);
  let lastTrusted: IpAddress = peerIp;
  const hops = xForwardedFor.split(",");
  for (let i = hops.length - 1; i >= 0; i--) {
    const text = hops[i].trim();
    if (text === "") continue;
    const hop = parseIp(text);
    if (hop === null) break;
    if (!trusted.has(hop)) return formatIp(hop);
    lastTrusted = hop;
  }
  return formatIp(lastTrusted);
}

const V6_HOST_BITS = 64n;

/**
 * The key a client is rate-limited under: its IPv4 address, or for IPv6 its /64 (contract §10), the block one
 * customer usually holds, so that rotating through it buys no extra quota. `ip` is resolveClientIp's output.
 */
export function ipLimitKey(ip: string): string {
  if (!ip.includes(":")) return ip;
  const parsed = parseIp(ip);
  if (parsed === null || isIpv4(parsed)) return ip;
  return `${formatIp((parsed >> V6_HOST_BITS) << V6_HOST_BITS)}/64`;
}
