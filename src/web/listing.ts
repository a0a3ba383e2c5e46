// The directory page's window on the in-memory directory: the same ListQuery and directory.list() as the JSON
// listing (src/http/routes/servers.ts), what that listing supports today, and paging behind one small pager.
import type { Directory } from "../directory/directory.js";
import { ListQuery, SORT_KEYS } from "../domain/query-schemas.js";
import { WEB_SORTS, type ListingFeatures, type WebQuery, type WebSort } from "./query.js";
import type { PublicSource } from "./view-model.js";

/** Servers per page: a page stays small (about 30 KB of HTML) and fast to render. */
export const PAGE_SIZE = 20;
/** The deepest offset the listing takes (contract §3 `offset` 0–10000). */
const MAX_OFFSET = 10_000;

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
  /** True when more records match than paging can reach (the offset limit): refine the search. */
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

// Offset paging for now: the `cursor` token is the offset in decimal. Switching to §9.2's cursor means: pass the
// token as `cursor` instead of `offset`, take `next` from the listing's next_cursor, and let `prev` be null (or a
// cursor the listing returns); nothing outside this function and offsetOf() reads the token.
function offsetOf(token: string): number {
  if (!/^(0|[1-9][0-9]{0,5})$/.test(token)) return 0;
  const n = Number(token);
  return n <= MAX_OFFSET ? n - (n % PAGE_SIZE) : 0;
}

export async function readPage(directory: Directory, q: WebQuery): Promise<WebPage> {
  const offset = offsetOf(q.cursor);
  const params = { ...listingParams(q), offset: String(offset) };
  const parsed = ListQuery.safeParse(params);
  // The page builds only values the schema accepts; a failure here is a bug, not bad input.
  if (!parsed.success) throw new Error(`web listing built an invalid query: ${parsed.error.message}`);
  // A new sort or search is made in slices while this waits (contract §10), like the JSON listing's.
  const page = await directory.listWhenReady({ ...parsed.data, origin: "any" });
  const end = offset + page.records.length;
  const nextOffset = offset + PAGE_SIZE;
  const reachable = end < page.total && nextOffset <= MAX_OFFSET;
  return {
    records: page.records,
    total: page.total,
    first: page.records.length === 0 ? 0 : offset + 1,
    next: reachable ? String(nextOffset) : null,
    // "" is the first page (no cursor in its link).
    prev: offset === 0 ? null : offset > PAGE_SIZE ? String(offset - PAGE_SIZE) : "",
    truncated: end < page.total && !reachable,
    apiHref: `/v1/servers?${new URLSearchParams(params)}`,
  };
}
