// Legacy listing and ratings parameters (contract §7): `search`, the PHP sorts, and limit/offset read as PHP read
// integers and clamped, never refused.
import type { SortKey, SortOrder } from "../../directory/sort-index.js";
import { ValidationError } from "../../core/errors.js";

const LEGACY_SORTS: Record<string, { sort: SortKey; order: SortOrder }> = {
  user_count: { sort: "users", order: "desc" },
  created_at: { sort: "created", order: "desc" },
  name: { sort: "name", order: "asc" },
};

// PHP's (int) cast: leading blanks, a sign, digits, a fraction and an exponent are read; the rest is ignored.
const PHP_NUMBER = /^[ \t\n\r\v\f]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/;

/** PHP's `(int)$value`: "10abc" → 10, "abc" → 0, "1e2" → 100, " 7" → 7. */
export function phpInt(value: string | undefined): number | null {
  if (value === undefined) return null;
  const m = PHP_NUMBER.exec(value);
  if (!m) return 0;
  const n = Math.trunc(Number(m[0]));
  return Number.isFinite(n) ? n : n > 0 ? Number.MAX_SAFE_INTEGER : Number.MIN_SAFE_INTEGER;
}

function clamp(n: number | null, min: number, max: number, fallback: number): number {
  return n === null ? fallback : Math.min(max, Math.max(min, n));
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
export const MAX_SEARCH_CHARS = 100;

export type LegacyListQuery = { search: string | undefined; sort: SortKey; order: SortOrder; limit: number; offset: number };

/** `GET /servers`: any other sort falls back to the default; only the §2-style text rules apply to search. */
export function legacyListQuery(params: Record<string, string>): LegacyListQuery {
  const { sort, order } = LEGACY_SORTS[params.sort ?? ""] ?? LEGACY_SORTS.user_count;
  let search: string | undefined = params.search;
  if (search === "") search = undefined;
  // The /v1 `q` rules still hold for the same search (contract §7: the field rules are not undone).
  if (search !== undefined && ([...search].length > MAX_SEARCH_CHARS || CONTROL.test(search))) {
    throw new ValidationError("bad search", [{ path: "search", message: `must be at most ${MAX_SEARCH_CHARS} characters without control characters` }]);
  }
  return {
    search,
    sort,
    order,
    limit: clamp(phpInt(params.limit), 1, 100, 50),
    offset: clamp(phpInt(params.offset), 0, 10_000, 0),
  };
}

/** `GET /servers/:domain/ratings`: limit default 20, clamped 1–100; offset clamped 0–10000. */
export function legacyRatingsParams(params: Record<string, string>): { limit: number; offset: number } {
  return { limit: clamp(phpInt(params.limit), 1, 100, 20), offset: clamp(phpInt(params.offset), 0, 10_000, 0) };
}

/** Whether a record matches a legacy search: a literal, case-insensitive substring of its name or domain. */
export function matchesLegacySearch(r: { domain: string; name: string }, searchLower: string): boolean {
  return r.domain.includes(searchLower) || r.name.toLowerCase().includes(searchLower);
}
