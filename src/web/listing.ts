// The directory page's window on the in-memory directory: the same ListQuery and directory.list() as the JSON
// listing (src/http/routes/servers.ts), what that listing supports today, and paging behind one small pager.
import type { Directory } from "../directory/directory.js";
import { ListQuery, SORT_KEYS } from "../domain/query-schemas.js";
import { decodeCursor, encodeCursor, queryFingerprint } from "../directory/cursor.js";
import { WEB_SORTS, type ListingFeatures, type WebQuery, type WebSort } from "./query.js";
import type { PublicSource } from "./view-model.js";

/** Servers per page: a page stays small (about 30 KB of HTML) and fast to render. */
export const PAGE_SIZE = 20;
/**
 * Which sorts and filters the listing accepts, found by asking its own query schema: when §9.2's `sort=uptime`,
 * `language` and `registration` land in ListQuery, the page offers them with no change here.
 */
export function detectFeatures(): ListingFeatures {
  const sorts = (Object.keys(WEB_SORTS) as WebSort[]).filter((s) => (SORT_KEYS as readonly string[]).includes(WEB_SORTS[s].sort));
  const keeps = (name: string, value: string) => {
    const parsed = ListQuery.safeParse({ [name]: value });
    return parsed.success && (parsed.data as Record<string, unknown>)[name] !== undefined;
  };
  return { sorts, language: keeps("language", "en"), registration: keeps("registration", "open") };
}

export type WebPage = {
  records: PublicSource[];
  total: number;
  /** 1-based position of the first record shown (0 when the page is empty). */
  first: number;
  /** Pager tokens for the `cursor` URL parameter; null when there is no such page. */
  next: string | null;
  prev: string | null;
  /** What the `prev` link leads to: the page just before, or (deeper in) the first page. */
  prevLabel: "Previous" | "First page";
  /** True when more records match than paging can reach: never with cursors (kept for the count line). */
  truncated: boolean;
  /** The JSON listing that answers the same question (`<link rel="alternate">`). */
  apiHref: string;
};

/** The listing parameters (contract §3, §9.2 names) for a page query, before paging. */
function listingParams(q: WebQuery): Record<string, string> {
  const params: Record<string, string> = { sort: WEB_SORTS[q.sort].sort, status: q.status, limit: String(PAGE_SIZE) };
  if (q.q) params.q = q.q;
  if (q.verified !== "any") params.verified = q.verified;
  if (q.language) params.language = q.language;
  if (q.registration) params.registration = q.registration;
  return params;
}

// §9.2 cursor paging. The page token is `<position>.<listing cursor>`: the cursor seeks into the sort index (so a
// page never repeats or skips a server that did not change), the position only numbers the count line. A token that
// does not decode for this query (edited, or from another sort) shows the first page.
type Token = { position: number; cursor: string } | null;

function readToken(token: string): Token {
  const m = /^(0|[1-9][0-9]{0,8})\.([A-Za-z0-9_-]{1,2048})$/.exec(token);
  return m ? { position: Number(m[1]), cursor: m[2] } : null;
}

export async function readPage(directory: Directory, q: WebQuery): Promise<WebPage> {
  const params = listingParams(q);
  const parsed = ListQuery.safeParse(params);
  // The page builds only values the schema accepts; a failure here is a bug, not bad input.
  if (!parsed.success) throw new Error(`web listing built an invalid query: ${parsed.error.message}`);
  const l = parsed.data;
  // The same fingerprint as the JSON listing's, so a page token's cursor also continues the API listing.
  const fingerprint = queryFingerprint({
    sort: l.sort, order: l.order, q: l.q, status: l.status, verified: l.verified, origin: "any", language: l.language,
    registration: l.registration, include_dead: l.include_dead,
  });
  let token = readToken(q.cursor);
  const probe = token ? decodeCursor(token.cursor, l.sort, fingerprint) : null;
  if (typeof probe === "string") token = null;
  const after = token && probe && typeof probe !== "string" ? probe : undefined;
  // A new sort or search is made in slices while this waits (contract §10), like the JSON listing's.
  const page = await directory.listWhenReady({ ...l, origin: "any", includeDead: l.include_dead, after });
  const position = token ? token.position : 0;
  const last = page.records[page.records.length - 1];
  return {
    records: page.records,
    total: page.total,
    first: page.records.length === 0 ? 0 : position + 1,
    next: page.more && last ? `${position + PAGE_SIZE}.${encodeCursor(l.sort, fingerprint, last)}` : null,
    // "" is the first page (no cursor in its link).
    prev: token ? "" : null,
    prevLabel: position > PAGE_SIZE ? "First page" : "Previous",
    truncated: false,
    apiHref: `/v1/servers?${new URLSearchParams(token ? { ...params, cursor: token.cursor } : params)}`,
  };
}
