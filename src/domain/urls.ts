// URL field rules (contract §2): allowed schemes, length, no credentials, host bound to the server's domain.
import { isSameOrSubdomain } from "./domain-name.js";

export const MAX_URL_CHARS = 2048;

export interface UrlRules {
  /** Accepted schemes with or without the trailing colon, e.g. `["https:"]`. */
  schemes: string[];
  /** When set, the host must be this (normalised) domain or a subdomain of it. */
  mustBeUnder?: string;
  /** ALLOW_INSECURE_URLS: also http:/ws:, and localhost or loopback hosts for any domain. */
  allowInsecure: boolean;
}

// Development twins of the secure schemes, accepted only with ALLOW_INSECURE_URLS.
const INSECURE_TWIN: Record<string, string> = { "https:": "http:", "wss:": "ws:" };
// Whitespace and controls are silently stripped by WHATWG parsers, and backslashes read as slashes there but
// not in RFC 3986 parsers: either way two clients could see two different hosts, so refuse them outright.
const FORBIDDEN_CHARS = /[\s\u0000-\u001f\u007f-\u009f\\]/;
// scheme "://" authority — the authority is where userinfo would hide.
const SCHEME_AND_AUTHORITY = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i;

/** An error message for `value`, or null when it is an acceptable URL under `opts`. */
export function checkUrl(value: string, opts: UrlRules): string | null {
  if (value.length > MAX_URL_CHARS) return `must be at most ${MAX_URL_CHARS} characters`;
  if (FORBIDDEN_CHARS.test(value)) return "must not contain whitespace, control characters or backslashes";
  const authority = SCHEME_AND_AUTHORITY.exec(value);
  if (authority === null || !URL.canParse(value)) return "must be an absolute URL (scheme://host/...)";
  const url = new URL(value);
  const schemes = allowedSchemes(opts);
  if (!schemes.includes(url.protocol)) return `must be a URL with scheme ${schemes.join(" or ")}`;
  // WHATWG drops an empty userinfo (`https://@host`), so look at the raw authority as well.
  if (url.username !== "" || url.password !== "" || authority[1].includes("@")) {
    return "must not contain credentials (user:password@)";
  }
  if (url.hostname === "") return "must have a host";
  if (isLoopbackHost(url.hostname)) {
    return opts.allowInsecure ? null : "must not point to localhost or a loopback address";
  }
  if (opts.mustBeUnder !== undefined && !isSameOrSubdomain(url.hostname, opts.mustBeUnder)) {
    return `host must be ${opts.mustBeUnder} or a subdomain of it`;
  }
  return null;
}

/** True for `localhost` names (RFC 6761 §6.3) and loopback addresses, as WHATWG URL serialises them. */
export function isLoopbackHost(hostname: string): boolean {
  return (
    hostname === "localhost" ||
    hostname.endsWith(".localhost") ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) ||
    hostname === "[::1]" ||
    // IPv4-mapped 127.0.0.0/8, e.g. [::ffff:127.0.0.1] which WHATWG writes as [::ffff:7f00:1].
    /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(hostname)
  );
}

function allowedSchemes(opts: UrlRules): string[] {
  const secure = opts.schemes.map((s) => (s.endsWith(":") ? s : `${s}:`).toLowerCase());
  if (!opts.allowInsecure) return secure;
  const insecure = secure.map((s) => INSECURE_TWIN[s]).filter((s): s is string => s !== undefined);
  return [...new Set([...secure, ...insecure])];
}
