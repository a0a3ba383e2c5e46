// The web directory's routes (§9.1, WEB_UI): `/`, `/server/:domain` and `/assets/:file`, rendered from the in-memory
// directory and served from a page cache; rendering (a cache miss) counts against the listing rate limit.
import type { Directory } from "../directory/directory.js";
import { isStoreUnavailable } from "../store/unavailable.js";
import { NotFoundError } from "../core/errors.js";
import type { RequestContext } from "../http/context.js";
import { requestDomain } from "../http/routes/params.js";
import type { Reply, RouteSpec } from "../http/router.js";
import type { RateLimiter } from "../security/rate-limit.js";
import { ipLimitKey } from "../security/client-ip.js";
import type { Rating } from "../store/ratings-repo.js";
import { loadAssets, type Assets } from "./assets.js";
import { directoryMain } from "./directory-page.js";
import { assetHeaders, etagMatches, htmlHeaders } from "./headers.js";
import type { SafeHtml } from "./html.js";
import { layout, messagePage } from "./layout.js";
import { detectFeatures, readPage } from "./listing.js";
import { RenderedPages, renderedPage, type RenderedPage } from "./page-cache.js";
import { underPrefix } from "./prefix.js";
import { parseWebQuery, webQueryKey } from "./query.js";
import { serverMain } from "./server-page.js";
import { lastDays } from "./charts.js";
import { toKeyView, toRatingView, toServerView, type KeyView, type PublicSource, type UptimeDay } from "./view-model.js";

export type WebRouteDeps = {
  directory: Directory;
  ratings: { page(domain: string, limit: number, offset: number): Promise<Rating[]> };
  registrarId: string;
  /** Newest event seq delivered on this node (the live script replays the feed from it). */
  lastSeq: () => number;
  /** The listing limit (RATE_LIMIT_LIST): rendering a page is a listing. */
  limiter: RateLimiter | null;
  /** §8.3 keys of a server, or null when this registrar does not keep keys. Absent until that work lands. */
  keys?: (domain: string) => Promise<Record<string, unknown>[] | null>;
  /** §9.2 daily uptime, oldest first. Absent until the uptime rollup lands: every day then shows "no data". */
  uptime?: (domain: string, days: number) => Promise<UptimeDay[]>;
  assets?: Assets;
};

/** Cached pages show relative times and heartbeat counts at most this old (the JSON listing uses 50 ms). */
const SOFT_TTL_MS = 1000;
const SERVER_PAGE_TTL_MS = 10_000;
const MAX_CACHED_PAGES = 256;
const LATEST_RATINGS = 10;
const UPTIME_DAYS = 90;

type ServerRecordLike = PublicSource & { jsonBytes(): Buffer };

export function webRoutes(d: WebRouteDeps): RouteSpec[] {
  const assets = d.assets ?? loadAssets();
  const features = detectFeatures();
  const listPages = new RenderedPages(SOFT_TTL_MS, MAX_CACHED_PAGES);
  const serverPages = new RenderedPages(SERVER_PAGE_TTL_MS, MAX_CACHED_PAGES);
  const base = () => ({ assets: assets.urls, registrarId: d.registrarId, seq: d.lastSeq() });
  /** The page's bytes, its links under the PATH_PREFIX the request came under (cached per prefix). */
  const render = (ctx: RequestContext, markup: SafeHtml) => renderedPage(underPrefix(markup, ctx.prefix));

  const send = (ctx: RequestContext, status: number, page: RenderedPage): Reply =>
    status === 200 && etagMatches(ctx.ifNoneMatch, page.etag)
      ? { status: 304, headers: htmlHeaders(page.etag) }
      : { status, bytes: page.body, headers: htmlHeaders(status === 200 ? page.etag : null) };

  /** A 429 page when rendering one more page would pass the listing limit; null when allowed. */
  const overLimit = (ctx: RequestContext): Reply | null => {
    if (!d.limiter) return null;
    const v = d.limiter.take(ipLimitKey(ctx.ip));
    ctx.headers.push(["RateLimit-Limit", String(v.limit)], ["RateLimit-Remaining", String(v.remaining)], ["RateLimit-Reset", String(v.resetS)]);
    if (v.allowed) return null;
    const page = render(ctx, messagePage(base(), "Too many requests", `Please wait ${v.retryAfterS} s and try again.`));
    return { status: 429, bytes: page.body, headers: [...htmlHeaders(null), ["Retry-After", String(v.retryAfterS)]] };
  };

  const notFound = (ctx: RequestContext, domain: string | null): Reply => {
    const text = domain ? `No server named ${domain} is listed here.` : "That is not a server's domain name.";
    return { status: 404, bytes: render(ctx, messagePage(base(), "Server not found", text)).body, headers: htmlHeaders(null) };
  };

  async function directoryPage(ctx: RequestContext): Promise<Reply> {
    const nowMs = Date.now();
    const { query, problems } = parseWebQuery(ctx.query, features);
    const key = `${ctx.prefix}\u0001${webQueryKey(query)}`;
    const stamp = d.directory.version;
    const cached = problems.length === 0 ? listPages.get(key, stamp, nowMs) : undefined;
    if (cached) return send(ctx, 200, cached);
    const limited = overLimit(ctx);
    if (limited) return limited;
    const page = await readPage(d.directory, query);
    const main = directoryMain({
      query, problems, features, page, online: d.directory.countBy("online"), listed: d.directory.size, nowMs,
    });
    const rendered = render(ctx, layout({ ...base(), title: "Zent server directory", alternate: page.apiHref, main }));
    if (problems.length === 0) listPages.set(key, stamp, rendered, nowMs);
    return send(ctx, 200, rendered);
  }

  async function serverPage(ctx: RequestContext): Promise<Reply> {
    const nowMs = Date.now();
    const domain = requestDomain(ctx);
    const rec = domain ? (d.directory.get(domain) as ServerRecordLike | undefined) : undefined;
    if (!domain || !rec) return notFound(ctx, domain);
    // A record's cached JSON is replaced whenever anything in it changes (the JSON API relies on that too).
    const stamp = rec.jsonBytes();
    const key = `${ctx.prefix}\u0001${domain}`;
    const cached = serverPages.get(key, stamp, nowMs);
    if (cached) return send(ctx, 200, cached);
    const limited = overLimit(ctx);
    if (limited) return limited;
    const seq = d.lastSeq();
    const [ratings, keys, uptime] = await Promise.all([
      d.ratings.page(domain, LATEST_RATINGS, 0).then((rows) => rows.map((r) => toRatingView(r as Rating & Record<string, unknown>))),
      d.keys ? d.keys(domain).then((ks) => (ks === null ? null : ks.map(toKeyView).filter((k): k is KeyView => k !== null))) : Promise.resolve(null),
      d.uptime ? d.uptime(domain, UPTIME_DAYS) : Promise.resolve(lastDays(UPTIME_DAYS, nowMs)),
    ]).catch((err) => {
      // Ratings live in MySQL; the rest of the page does not. Without the store, show the page and say so.
      if (!isStoreUnavailable(err)) throw err;
      return [null, null, lastDays(UPTIME_DAYS, nowMs)] as const;
    });
    const server = toServerView(rec.toPublic());
    const main = serverMain({ server, ratings, keys, uptime, nowMs });
    const rendered = render(
      ctx,
      layout({ ...base(), seq, title: `${server.name} · Zent server directory`, alternate: `/v1/servers/${encodeURIComponent(domain)}`, main }),
    );
    if (ratings !== null) serverPages.set(key, stamp, rendered, nowMs);
    return send(ctx, 200, rendered);
  }

  function asset(ctx: RequestContext): Reply {
    const a = assets.get(ctx.params[0]);
    if (!a) throw new NotFoundError("no such static file");
    if (etagMatches(ctx.ifNoneMatch, a.etag)) return { status: 304, headers: assetHeaders(a.contentType, a.etag) };
    return { status: 200, bytes: a.body, headers: assetHeaders(a.contentType, a.etag) };
  }

  return [
    { path: "/", bare: true, methods: { GET: { handler: directoryPage } } },
    { path: "/server/:domain", bare: true, methods: { GET: { handler: serverPage } } },
    { path: "/assets/:file", bare: true, methods: { GET: { handler: asset } } },
  ];
}
