// Response headers of the web pages and their static files: the CSP (§9.1), nosniff, caching and ETag matching.

/**
 * No inline script or style, no plugins, no framing; scripts, styles, the feed socket and form posts only to this
 * origin; images from any https host (server icons live on their own hosts) and data: URLs. CSP 3 lets
 * `connect-src 'self'` cover ws:/wss: to this origin, which is what the live script needs.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src https: data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join("; ");

// X-Content-Type-Options: nosniff goes on every response (src/http/respond.ts).
const COMMON: readonly [string, string][] = [
  // Links out (a server's site, its icon host) learn nothing about which page the visitor was on.
  ["Referrer-Policy", "same-origin"],
];

/** Pages change with the directory: always revalidate (cheap, with the ETag), never serve stale from a cache. */
export function htmlHeaders(etag: string | null): [string, string][] {
  const h: [string, string][] = [
    ["Content-Type", "text/html; charset=utf-8"],
    ["Content-Security-Policy", CONTENT_SECURITY_POLICY],
    ["X-Frame-Options", "DENY"],
    ...COMMON,
    ["Cache-Control", "no-cache"],
  ];
  if (etag) h.push(["ETag", etag]);
  return h;
}

/** Static files live under content-hashed URLs: a year, immutable. */
export function assetHeaders(contentType: string, etag: string): [string, string][] {
  return [["Content-Type", contentType], ...COMMON, ["Cache-Control", "public, max-age=31536000, immutable"], ["ETag", etag]];
}

/** RFC 9110 §13.1.2 If-None-Match: `*` or a list of tags, compared weakly (a W/ prefix is ignored). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = etag.replace(/^W\//, "");
  return ifNoneMatch.split(",").some((t) => {
    const tag = t.trim();
    return tag === "*" || tag.replace(/^W\//, "") === bare;
  });
}
