// The directory page's query string: parsed leniently (a bad value falls back to its default and is reported on
// the page, never a 400), normalised into one cache key, and turned back into links that keep the other choices.
import type { Registration } from "./view-model.js";
import { canonicalLanguageTag } from "../domain/directory-fields.js";

/** The page's sort names and the listing sort each one asks for (contract §3 `sort`, §9.2 `uptime`). */
export const WEB_SORTS = {
  users: { sort: "users", label: "Most users" },
  uptime: { sort: "uptime", label: "Best uptime" },
  rating: { sort: "rating", label: "Best rated" },
  newest: { sort: "created", label: "Newest" },
  name: { sort: "name", label: "A–Z" },
} as const;
export type WebSort = keyof typeof WEB_SORTS;

export const STATUSES = ["any", "online", "offline"] as const;
export const VERIFIED = ["any", "true", "false"] as const;
export const REGISTRATIONS = ["open", "approval", "invite", "closed"] as const satisfies readonly Registration[];

export type WebQuery = {
  q: string;
  status: (typeof STATUSES)[number];
  verified: (typeof VERIFIED)[number];
  /** A language tag (§9.2 `language`), "" for any. */
  language: string;
  registration: Registration | "";
  sort: WebSort;
  /** The pager's position token (src/web/listing.ts), "" on the first page. */
  cursor: string;
};

/** What the listing behind the page can do today; features other work adds switch on by themselves. */
export type ListingFeatures = { sorts: readonly WebSort[]; language: boolean; registration: boolean };

export const DEFAULT_QUERY: Readonly<WebQuery> = Object.freeze({
  q: "", status: "any", verified: "any", language: "", registration: "", sort: "users", cursor: "",
});

const MAX_Q_CHARS = 100;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CURSOR = /^[A-Za-z0-9._~-]{1,2100}$/;

const oneOf = <T extends string>(values: readonly T[], v: string | undefined): T | undefined =>
  v !== undefined && (values as readonly string[]).includes(v) ? (v as T) : undefined;

export type ParsedQuery = { query: WebQuery; problems: string[] };

export function parseWebQuery(raw: string, features: ListingFeatures): ParsedQuery {
  const params: Record<string, string> = {};
  // First occurrence wins, as in the JSON listing (src/http/routes/params.ts).
  for (const [k, v] of new URLSearchParams(raw)) if (!(k in params)) params[k] = v;
  const problems: string[] = [];
  const query: WebQuery = { ...DEFAULT_QUERY };
  const q = (params.q ?? "").trim();
  if ([...q].length > MAX_Q_CHARS) problems.push(`Search text can be at most ${MAX_Q_CHARS} characters; showing all servers.`);
  else if (CONTROL.test(q)) problems.push("Search text cannot contain control characters; showing all servers.");
  else query.q = q;
  const pick = <T extends string>(name: string, values: readonly T[], what: string): T | undefined => {
    const v = params[name];
    if (v === undefined || v === "") return undefined;
    const ok = oneOf(values, v);
    if (ok === undefined) problems.push(`Unknown ${what}; using the default.`);
    return ok;
  };
  query.status = pick("status", STATUSES, "status filter") ?? query.status;
  query.verified = pick("verified", VERIFIED, "verified filter") ?? query.verified;
  query.sort = pick("sort", features.sorts, "sort order") ?? query.sort;
  if (features.registration) query.registration = pick("registration", REGISTRATIONS, "registration filter") ?? "";
  const language = (params.language ?? "").trim();
  if (features.language && language !== "") {
    const tag = canonicalLanguageTag(language);
    if (tag !== null) query.language = tag;
    else problems.push("A language is a tag such as en, de or pt-BR; showing all languages.");
  }
  const cursor = params.cursor ?? "";
  if (cursor !== "" && CURSOR.test(cursor)) query.cursor = cursor;
  return { query, problems };
}

/** One string per distinct query, defaults included, so `?` and `?sort=users&status=any` share a cache entry. */
export function webQueryKey(q: WebQuery): string {
  return [q.q, q.status, q.verified, q.language, q.registration, q.sort, q.cursor].join("\u0000");
}

/** A link to the directory with some choices changed; a new filter or sort starts again at the first page. */
export function directoryHref(q: WebQuery, change: Partial<WebQuery> = {}): string {
  const next: WebQuery = { ...q, cursor: "", ...change };
  const params = new URLSearchParams();
  for (const key of ["q", "status", "verified", "language", "registration", "sort", "cursor"] as const) {
    if (next[key] !== DEFAULT_QUERY[key]) params.set(key, next[key]);
  }
  const text = params.toString();
  return text === "" ? "/" : `/?${text}`;
}
