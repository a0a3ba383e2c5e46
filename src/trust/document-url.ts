// Where a domain's `.well-known/zent` document is fetched from (contract §8.1 WELL_KNOWN_URL) and what URL is allowed.

export type UrlPolicy = { allowInsecure: boolean };

/** The document URL for an already normalised domain (a-z 0-9 . - only, so it needs no escaping). */
export function documentUrl(template: string, domain: string): string {
  return template.replaceAll("{domain}", domain);
}

/**
 * Null when the URL may be fetched, else why not. §8.1: https on port 443 only; a development template
 * (ALLOW_INSECURE_URLS) may use http and any port. Never credentials in the URL.
 */
export function urlProblem(url: URL, policy: UrlPolicy): string | null {
  if (url.username || url.password) return "the document URL must not carry credentials";
  if (policy.allowInsecure) return url.protocol === "https:" || url.protocol === "http:" ? null : "the document URL must be http(s)";
  if (url.protocol !== "https:") return "the document is fetched over https only";
  if (url.port !== "" && url.port !== "443") return "the document is fetched from port 443 only";
  return null;
}
