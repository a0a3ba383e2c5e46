// CORS for exact allowed origins (CORS_ORIGINS, contract §3): which headers a response gets.

const EXPOSE_HEADERS =
  "X-Request-Id, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After, Deprecation, Link";
const ALLOW_METHODS = "GET, POST, PUT, DELETE, OPTIONS";
const ALLOW_HEADERS = "Authorization, Content-Type, X-Request-Id";
// Ten minutes: Chromium caps the preflight cache at 2 h and Firefox at 24 h, and a short cache means
// a change of CORS_ORIGINS reaches browsers quickly.
const MAX_AGE_S = "600";

/**
 * Parses CORS_ORIGINS: comma-separated `scheme://host[:port]` origins, http or https only. Each is
 * stored in the form browsers send in `Origin` (lower-case, default port dropped, IDN as punycode),
 * so `HTTPS://3aka.com:443` in the config still matches. Wildcards, paths (even a lone `/`),
 * queries, credentials and `null` throw: matching is exact, and a silently ignored typo would
 * either lock out the web client or look like it works while it does not.
 */
export function parseCorsOrigins(value?: string): Set<string> {
  const origins = new Set<string>();
  for (const raw of (value ?? "").split(",")) {
    const item = raw.trim();
    if (item === "") continue;
    origins.add(parseOrigin(item));
  }
  return origins;
}

function parseOrigin(item: string): string {
  const invalid = (why: string) => new Error(`CORS_ORIGINS: "${item}" is not an origin: ${why}`);
  // Checked on the text first, because URL() would quietly accept and drop a trailing "/".
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/?#@\\\s]+$/i.test(item)) {
    throw invalid("expected scheme://host[:port] with no path, query or credentials");
  }
  let url: URL;
  try {
    url = new URL(item);
  } catch (err) {
    throw new Error(`CORS_ORIGINS: "${item}" is not an origin: unparseable`, { cause: err });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw invalid("scheme must be http or https");
  return url.origin;
}

/** Whether a request's Origin header is one of the allowed origins (exact match). */
export function isOriginAllowed(origin: string | undefined, allowed: Set<string>): boolean {
  return origin !== undefined && allowed.has(origin);
}

/**
 * Headers for one response (errors included, contract §1). An allowed origin gets
 * Access-Control-Allow-Origin, Vary and Expose-Headers, and for a preflight also methods, headers
 * and max-age. Other origins get no Access-Control-* header.
 *
 * Choice: whenever CORS is configured (allowed non-empty), `Vary: Origin` is sent on every
 * response, also to other or absent origins. The response then differs by Origin, and without Vary
 * a shared cache could serve a copy without Access-Control-Allow-Origin to an allowed origin (the
 * Fetch standard's advice in "CORS protocol and HTTP caches"). With CORS off nothing varies
 * and nothing is sent.
 */
// Shared answers for the two common cases (no CORS configured; an origin not allowed): no array per response.
const NONE: readonly (readonly [string, string])[] = Object.freeze([]);
const VARY_ONLY: readonly (readonly [string, string])[] = Object.freeze([Object.freeze(["Vary", "Origin"] as const)]);

export function corsHeaders(
  origin: string | undefined,
  allowed: Set<string>,
  preflight: boolean,
): readonly (readonly [string, string])[] {
  if (allowed.size === 0) return NONE;
  if (origin === undefined || !allowed.has(origin)) return VARY_ONLY;
  const headers: [string, string][] = [
    ["Access-Control-Allow-Origin", origin],
    ["Vary", "Origin"],
    ["Access-Control-Expose-Headers", EXPOSE_HEADERS],
  ];
  if (preflight) {
    headers.push(
      ["Access-Control-Allow-Methods", ALLOW_METHODS],
      ["Access-Control-Allow-Headers", ALLOW_HEADERS],
      ["Access-Control-Max-Age", MAX_AGE_S],
    );
  }
  return headers;
}
