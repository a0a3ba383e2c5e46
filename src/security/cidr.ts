// CIDR ranges and sets of them, matched in the shared 128-bit space of ip-address.ts.

import { formatIp, isIpv4, parseIp, type IpAddress } from "./ip-address.js";

export interface Cidr {
  /** Network address (host bits zero), as an IpAddress. */
  readonly network: IpAddress;
  /** Prefix length in the 128-bit space: an IPv4 `/n` is stored as `/96+n`. */
  readonly prefixLength: number;
}

const ALL_ONES = (1n << 128n) - 1n;
// Precomputed so a lookup does one AND per prefix length instead of building the mask each time.
const MASKS: readonly bigint[] = Array.from(
  { length: 129 },
  (_, length) => ALL_ONES ^ ((1n << BigInt(128 - length)) - 1n),
);

function maskFor(prefixLength: number): bigint {
  return MASKS[prefixLength];
}

/**
 * Parses `a.b.c.d/n`, `v6::/n` or a bare address (a /32 or /128). Throws on anything else,
 * including set host bits (`10.0.0.1/8`): in a trust list that is more likely a typo than intent,
 * and guessing wrong widens or narrows who may spoof X-Forwarded-For.
 */
export function parseCidr(text: string): Cidr {
  const slash = text.indexOf("/");
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const address = parseIp(addressText);
  if (address === null) {
    throw new Error(`invalid CIDR "${text}": "${addressText}" is not an IPv4 or IPv6 address`);
  }
  const isV4Text = !addressText.includes(":");
  const familyBits = isV4Text ? 32 : 128;
  let bits = familyBits;
  if (slash >= 0) {
    const lengthText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lengthText) || Number(lengthText) > familyBits) {
      throw new Error(`invalid CIDR "${text}": prefix length must be an integer 0–${familyBits}`);
    }
    bits = Number(lengthText);
  }
  const prefixLength = isV4Text ? 96 + bits : bits;
  const network = address & maskFor(prefixLength);
  if (network !== address) {
    const suggestion = formatCidr({ network, prefixLength });
    throw new Error(`invalid CIDR "${text}": host bits are set (did you mean ${suggestion}?)`);
  }
  return { network, prefixLength };
}

export function formatCidr(cidr: Cidr): string {
  if (cidr.prefixLength >= 96 && isIpv4(cidr.network)) {
    return `${formatIp(cidr.network)}/${cidr.prefixLength - 96}`;
  }
  return `${formatIp(cidr.network)}/${cidr.prefixLength}`;
}

/**
 * An immutable set of ranges. Lookup masks the address once per distinct prefix length and probes
 * a hash set, so a long list (Cloudflare's has 22 ranges over 12 lengths) stays cheap per request.
 */
export class CidrSet {
  readonly #byLength = new Map<number, Set<IpAddress>>();
  readonly #cidrs: readonly Cidr[];

  constructor(cidrs: Iterable<Cidr> = []) {
    const list: Cidr[] = [];
    for (const cidr of cidrs) {
      const networks = this.#byLength.get(cidr.prefixLength) ?? new Set<IpAddress>();
      if (networks.has(cidr.network)) continue;
      networks.add(cidr.network);
      this.#byLength.set(cidr.prefixLength, networks);
      list.push(cidr);
    }
    this.#cidrs = Object.freeze(list);
  }

  /** Whether the address (parsed, or as text) lies in any range; unparseable text never does. */
  has(address: IpAddress | string): boolean {
    const ip = typeof address === "string" ? parseIp(address) : address;
    if (ip === null) return false;
    for (const [length, networks] of this.#byLength) {
      if (networks.has(ip & maskFor(length))) return true;
    }
    return false;
  }

  get size(): number {
    return this.#cidrs.length;
  }

  get cidrs(): readonly Cidr[] {
    return this.#cidrs;
  }

  toString(): string {
    return this.#cidrs.map(formatCidr).join(",");
  }
}
