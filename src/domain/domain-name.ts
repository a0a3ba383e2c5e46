// Domain-name normalisation (contract §2 `domain`): lower-case, IDN → punycode, LDH labels, no IP literals.
import punycode from "punycode/punycode.js";

export const MAX_DOMAIN_CHARS = 253;

// Punycode output is never shorter than half its input, so longer inputs cannot fit in 253 characters;
// refusing them early keeps hostile inputs cheap.
const MAX_INPUT_CHARS = 1024;
// Whitespace, all "other" code points (controls, format characters such as zero-width joiners, lone
// surrogates, private use, unassigned) and the characters of IPv6 literals / URL syntax.
const FORBIDDEN_CHARS = /[\s\p{C}[\]:/\\@]/u;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// WHATWG URL's "ends in a number" checker treats such a last label as IPv4, so `a.0x1f` is no domain either.
const NUMERIC_TLD = /^(?:[0-9]+|0x[0-9a-f]*)$/;
const NON_ASCII = /[^\x00-\x7f]/;

/** The canonical ASCII form of a domain name, or null when it is not an acceptable domain. */
export function normalizeDomain(input: string): string | null {
  if (typeof input !== "string" || input.length === 0 || input.length > MAX_INPUT_CHARS) return null;
  // Hot path (every authenticated request): an already canonical ASCII name needs no Unicode mapping.
  if (CANONICAL_ASCII.test(input) && !input.includes("xn--")) return validAscii(input);
  if (FORBIDDEN_CHARS.test(input)) return null;
  const ascii = toAscii(mapUnicode(input));
  if (ascii === null) return null;
  return validAscii(ascii);
}

const CANONICAL_ASCII = /^[a-z0-9.-]{1,253}$/;

function validAscii(ascii: string): string | null {
  if (ascii.length > MAX_DOMAIN_CHARS) return null;
  const labels = ascii.split(".");
  if (labels.length < 2) return null;
  if (!labels.every(isValidLabel)) return null;
  if (NUMERIC_TLD.test(labels[labels.length - 1])) return null;
  return ascii;
}

/** True when `host` is `domain` itself or a name under it; both must already be normalised. */
export function isSameOrSubdomain(host: string, domain: string): boolean {
  if (domain.length === 0) return false;
  return host === domain || (host.length > domain.length && host.endsWith(`.${domain}`));
}

// NFKC + lower case approximates the UTS #46 mapping the WHATWG URL parser applies to hosts, so a
// full-width or upper-case name normalises to the same host a URL parser would see.
function mapUnicode(value: string): string {
  return value.normalize("NFKC").toLowerCase().normalize("NFKC");
}

function toAscii(value: string): string | null {
  try {
    return punycode.toASCII(value);
  } catch (err) {
    // punycode signals overflow and invalid input with RangeError only.
    if (err instanceof RangeError) return null;
    throw err;
  }
}

function isValidLabel(label: string): boolean {
  if (!LABEL.test(label)) return false;
  return label.startsWith("xn--") ? isCanonicalALabel(label) : true;
}

// An `xn--` label must decode to non-ASCII text that encodes back to exactly this label (RFC 5891 §5.4),
// otherwise two spellings could name one server, or an ASCII name could hide behind an A-label.
function isCanonicalALabel(label: string): boolean {
  let unicode: string;
  try {
    unicode = punycode.decode(label.slice(4));
  } catch (err) {
    if (err instanceof RangeError) return false;
    throw err;
  }
  if (!NON_ASCII.test(unicode) || FORBIDDEN_CHARS.test(unicode) || unicode.includes(".")) return false;
  return toAscii(mapUnicode(unicode)) === label;
}
