// The in-memory directory: every known server record, sorted indexes, filter counts and search, read per request.
import type { ServerRecord, Status } from "../core/record.js";
import { SearchCache } from "./search-cache.js";
import { LIVENESS_FIELDS, type FieldMask } from "../core/record.js";
import { PageCache } from "./page-cache.js";
import { SliceRunner, type SliceJob } from "./slices.js";
import { NewestFirst, SORT_KEYS, SortIndex, type OrderedRecords, type SortKey, type SortOrder } from "./sort-index.js";
import { selectPage } from "./top-k.js";
import { languageMatches } from "../domain/directory-fields.js";

export type ListFilter = {
  q?: string;
  /** Where q must match: "all" (domain, name, description; /v1) or "name_domain" (the legacy `search`, contract §7). */
  qIn?: "all" | "name_domain";
  sort: SortKey;
  order: SortOrder;
  status: Status | "any";
  verified?: boolean;
  /** "any", or one origin id (the caller maps "local" to this registrar's id). */
  origin: string;
  limit: number;
  offset: number;
  /** §9.2: a canonical language tag (matches it and its subtags) and a registration policy. */
  language?: string;
  registration?: string;
  /** §9.2: list servers offline for longer than DEAD_AFTER_DAYS too. */
  includeDead?: boolean;
  /** §9.2 cursor: start strictly after this stand-in (src/directory/cursor.ts), after skipping `offset` more. */
  after?: ServerRecord;
};

/**
 * `more`: at least one more record matches after the page (the listing then answers a next_cursor); `version`: the
 * directory version the page was selected at (a cache keeps it under that version).
 */
export type ListPage = { records: ServerRecord[]; total: number; more: boolean; version: number };

// Heartbeats move only LIVENESS_FIELDS and do not bump the directory version unless the status changed: a cached
// page may show last_seen and counts (and an order by them) up to PageCache's softTtlMs old.

/** CACHE_MAX_BYTES's default (contract §10): the listing caches' memory together. */
export const DEFAULT_CACHE_MAX_BYTES = 256 * 2 ** 20;

export type DirectoryOptions = {
  /** The q match sets take up to half of it; each listing's page cache (pageCache()) a quarter. */
  cacheMaxBytes?: number;
};

export class Directory {
  private readonly records = new Map<string, ServerRecord>();
  private readonly indexes = new Map<string, SortIndex>();
  /** Indexes still being filled in slices, by `sort:order`. */
  private readonly building = new Map<string, SliceJob>();
  /** Records by filter group (`status|verified|origin`): totals, and the candidates of a sparse filter. */
  private readonly groups = new Map<string, Set<ServerRecord>>();
  private readonly slices = new SliceRunner();
  private readonly search: SearchCache;
  private readonly pageCaches: PageCache[] = [];
  private readonly cacheMaxBytes: number;
  /** Bumped by load(): work awaited across a reload is redone on the new content. */
  private generation = 0;
  /** Federation: of two records of different origins for one domain, returns the one to list (src/federation/winner.ts). */
  private arbiter: ((incoming: ServerRecord, listed: ServerRecord) => ServerRecord) | null = null;

  constructor(opts: DirectoryOptions = {}) {
    this.cacheMaxBytes = opts.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES;
    this.search = new SearchCache(this.slices, Math.floor(this.cacheMaxBytes / 2));
  }

  get size(): number {
    return this.records.size;
  }

  /** A page cache for one listing route, its budget a quarter of CACHE_MAX_BYTES; counted in cacheBytes. */
  pageCache(softTtlMs?: number): PageCache {
    const c = new PageCache(softTtlMs, Math.floor(this.cacheMaxBytes / 4));
    this.pageCaches.push(c);
    return c;
  }

  /** Estimated heap of the listing caches (q match sets and pages), for registrar_listing_cache_bytes. */
  cacheBytes(): number {
    let n = this.search.bytesUsed;
    for (const c of this.pageCaches) n += c.bytesUsed;
    return n;
  }

  /** Background work (index fills, q scans) waiting for its next slice. */
  get backgroundJobs(): number {
    return this.slices.pending;
  }

  get(domain: string): ServerRecord | undefined {
    return this.records.get(domain);
  }

  /**
   * Bumped by every change that can move a record in or out of a page or change what it shows, except
   * heartbeat soft state (last_seen, counts, and the order by them): listing caches key on it.
   */
  version = 0;

  /** Records added so far (load, add, replacement): whoever groups the records knows when its grouping is stale. */
  additions = 0;

  values(): IterableIterator<ServerRecord> {
    return this.records.values();
  }

  /** Installs the federation's conflict rule; without one, a record replaces any prior record of its domain. */
  setArbiter(fn: (incoming: ServerRecord, listed: ServerRecord) => ServerRecord): void {
    this.arbiter = fn;
  }

  add(r: ServerRecord): void {
    const prior = this.records.get(r.domain);
    // A record of another origin only replaces the listed one if it wins (contract §6); the arbiter keeps the loser.
    if (prior && prior !== r && prior.origin !== r.origin && this.arbiter && this.arbiter(r, prior) === prior) return;
    if (prior) this.remove(prior);
    this.version++;
    this.additions++;
    this.records.set(r.domain, r);
    for (const idx of this.indexes.values()) idx.add(r);
    this.count(r, 1);
    this.search.changed(r);
  }

  remove(r: ServerRecord): void {
    if (this.records.get(r.domain) !== r) return;
    this.version++;
    this.records.delete(r.domain);
    for (const idx of this.indexes.values()) idx.remove(r);
    this.count(r, -1);
    this.search.removed(r);
  }

  /**
   * Mutates a record while keeping indexes and counts right. `fields` is the mask (src/core/record.ts) of the sort
   * keys that may change; `text` says whether searchable text (name, description) may change.
   */
  update(r: ServerRecord, fields: FieldMask, text: boolean, mutate: () => void): void {
    if (this.records.get(r.domain) !== r) {
      mutate();
      return;
    }
    const touched: SortIndex[] = [];
    for (const idx of this.indexes.values()) {
      if (idx.field & fields) {
        idx.remove(r);
        touched.push(idx);
      }
    }
    // A server that comes back is alive again at once (the dead sweep only ever marks).
    const status = r.status;
    const verified = r.verified;
    const dead = r.dead;
    mutate();
    r.json = null;
    if (r.status === "online") r.dead = false;
    // Filter counts change only with status, verified or dead (origin never changes in place).
    if (r.status !== status || r.verified !== verified || r.dead !== dead) {
      const now = { status: r.status, verified: r.verified, dead: r.dead };
      r.status = status;
      r.verified = verified;
      r.dead = dead;
      this.count(r, -1);
      r.status = now.status;
      r.verified = now.verified;
      r.dead = now.dead;
      this.count(r, 1);
    }
    for (const idx of touched) idx.add(r);
    if (text) this.search.changed(r);
    // Counts alone leave the version as it is (issue 8): a beat alternating user_count 1/2 used to empty the page
    // cache on every beat. Like last_seen, they reach cached pages within PageCache's softTtlMs.
    const changed = text || r.status !== status || r.verified !== verified || r.dead !== dead;
    if (changed || (fields & ~LIVENESS_FIELDS) !== 0) this.version++;
  }

  /** Replaces the whole content (start-up load). */
  load(all: Iterable<ServerRecord>): void {
    this.version++;
    this.additions++;
    this.generation++;
    this.records.clear();
    this.indexes.clear();
    this.building.clear();
    this.slices.clear();
    this.groups.clear();
    this.search.clear();
    for (const r of all) {
      this.records.set(r.domain, r);
      this.count(r, 1);
    }
  }

  /** Builds an index at once, ahead of the first request that needs it (start-up builds the default listing's). */
  prepareIndex(sort: SortKey, order: SortOrder): void {
    this.index(sort, order);
  }

  /** Starts filling every other sort index in the background, in slices, so no request waits for a build. */
  buildIndexesAhead(): void {
    for (const sort of SORT_KEYS) for (const order of ["desc", "asc"] as const) this.startBuild(sort, order, false);
  }

  /**
   * The listing for anonymous requests: what is missing (the sort's index, the match set of a new q) is made in
   * slices between event-loop turns while this waits, then the page is selected as list() does.
   */
  async listWhenReady(f: ListFilter): Promise<ListPage> {
    const generation = this.generation;
    const job = this.startBuild(f.sort, f.order, true);
    if (job) await job.done;
    // Resolved right after the last slice (nothing else ran since): the set is current.
    const matches = f.q ? await this.search.matches(f.q.toLowerCase(), () => this.records.values()) : undefined;
    // A reload in between dropped that work: answer from the new content.
    if (generation !== this.generation) return this.list(f);
    return this.select(f, matches);
  }

  /** The listing, at once: whatever is missing is made now (callers that cannot wait; see listWhenReady). */
  list(f: ListFilter): ListPage {
    return this.select(f, f.q ? this.search.matchesNow(f.q.toLowerCase(), () => this.records.values()) : undefined);
  }

  private select(f: ListFilter, matches: Set<ServerRecord> | undefined): ListPage {
    const idx = this.index(f.sort, f.order);
    // language and registration are not kept per group: their totals take a pass over the groups that match.
    const scanned = f.language !== undefined || f.registration !== undefined;
    const hidesDead = !f.includeDead && this.deadCount() > 0;
    const filtered = scanned || hidesDead || f.status !== "any" || f.verified !== undefined || f.origin !== "any" || (f.q !== undefined && f.qIn === "name_domain");
    const accept = filtered ? makeFilter(f) : null;
    const version = this.version;
    let total = 0;
    if (matches) {
      if (accept) for (const r of matches) total += accept(r) ? 1 : 0;
      else total = matches.size;
    } else if (scanned) {
      for (const [key, group] of this.groups) if (groupMatches(key, f)) for (const r of group) total += accept!(r) ? 1 : 0;
    } else {
      total = this.total(f);
    }
    // One more than the page, to know whether a next page exists (§9.2 next_cursor).
    const want = f.limit + 1;
    // A deep page past the last match, or a filter nothing matches, costs nothing.
    if (total === 0 || f.offset >= total) return { records: [], total, more: false, version };
    // Walking the index visits about (offset + limit) × size / total records; selecting from the candidates visits
    // each candidate once plus a heap of offset + limit. Dense matches walk, sparse ones select.
    const walkCost = Math.min(this.records.size, ((f.offset + want) * this.records.size) / total);
    const candidateCount = matches ? matches.size : total;
    if (walkCost <= 2 * candidateCount) {
      const test = matches ? (accept ? (r: ServerRecord) => matches.has(r) && accept(r) : (r: ServerRecord) => matches.has(r)) : accept;
      return page(walk(idx, test, f.offset, want, total, f.after), total, f.limit, version);
    }
    const candidates: ServerRecord[] = [];
    const after = f.after;
    const keep = (r: ServerRecord) => (!accept || accept(r)) && (!after || idx.cmp(r, after) > 0);
    if (matches) {
      for (const r of matches) if (keep(r)) candidates.push(r);
    } else {
      for (const [key, group] of this.groups) if (groupMatches(key, f)) for (const r of group) if (keep(r)) candidates.push(r);
    }
    return page(selectPage(candidates, idx.cmp, f.offset, want), total, f.limit, version);
  }

  /** Marks or clears §9.2's dead flag (DEAD_AFTER_DAYS), keeping counts and the version right. */
  setDead(r: ServerRecord, dead: boolean): void {
    if (r.dead === dead) return;
    if (this.records.get(r.domain) !== r) {
      r.dead = dead;
      return;
    }
    this.count(r, -1);
    r.dead = dead;
    this.count(r, 1);
    this.version++;
  }

  /** Counts by status, online servers and origins, for health and metrics. */
  countBy(status: Status): number {
    let n = 0;
    for (const [key, group] of this.groups) if (key.startsWith(`${status}|`)) n += group.size;
    return n;
  }

  private deadCount(): number {
    let n = 0;
    for (const [key, group] of this.groups) if (key.endsWith("|1")) n += group.size;
    return n;
  }

  private total(f: ListFilter): number {
    let n = 0;
    for (const [key, group] of this.groups) if (groupMatches(key, f)) n += group.size;
    return n;
  }

  private count(r: ServerRecord, delta: 1 | -1): void {
    const key = `${r.status}|${r.verified ? 1 : 0}|${r.origin}|${r.dead ? 1 : 0}`;
    let group = this.groups.get(key);
    if (delta > 0) {
      if (!group) this.groups.set(key, (group = new Set()));
      group.add(r);
    } else if (group) {
      group.delete(r);
      if (group.size === 0) this.groups.delete(key);
    }
  }

  /**
   * Starts (or, when `urgent`, moves to the front) the sliced fill of an index; returns its job while it runs, null
   * once the index is complete. A filling index is already in `indexes`, so every change reaches it like a built one.
   */
  private startBuild(sort: SortKey, order: SortOrder, urgent: boolean): SliceJob | null {
    if (sort === "last_seen" && order === "desc") return this.startBuild("last_seen", "asc", urgent);
    const key = `${sort}:${order}`;
    const running = this.building.get(key);
    if (running) {
      if (urgent) this.slices.promote(running);
      return running;
    }
    if (this.indexes.has(key)) return null;
    const idx = new SortIndex(sort, order);
    this.indexes.set(key, idx);
    // A live Map iterator: records added meanwhile are visited too (re-adding one is a no-op), removed ones are not.
    const job = this.slices.schedule(idx.builder(this.records.values()), urgent);
    this.building.set(key, job);
    void job.done.then(() => {
      if (this.building.get(key) === job) this.building.delete(key);
    });
    return job;
  }

  // An index is complete when returned: one still filling in the background is finished now.
  private index(sort: SortKey, order: SortOrder): OrderedRecords {
    // Newest first is the ascending last_seen index read backwards (one tree for every heartbeat to move).
    return sort === "last_seen" && order === "desc" ? new NewestFirst(this.tree("last_seen", "asc")) : this.tree(sort, order);
  }

  private tree(sort: SortKey, order: SortOrder): SortIndex {
    const key = `${sort}:${order}`;
    const job = this.building.get(key);
    if (job) {
      this.slices.finishNow(job);
      this.building.delete(key);
    }
    let idx = this.indexes.get(key);
    if (!idx) {
      idx = new SortIndex(sort, order, this.records.values());
      this.indexes.set(key, idx);
    }
    return idx;
  }
}

function groupMatches(key: string, f: ListFilter): boolean {
  const [status, verified, origin, dead] = key.split("|");
  if (dead === "1" && !f.includeDead) return false;
  if (f.status !== "any" && status !== f.status) return false;
  if (f.verified !== undefined && (verified === "1") !== f.verified) return false;
  if (f.origin !== "any" && origin !== f.origin) return false;
  return true;
}

function makeFilter(f: ListFilter): (r: ServerRecord) => boolean {
  const { status, verified, origin, language, registration } = f;
  const includeDead = f.includeDead === true;
  // The q match set covers descriptions too; the legacy search narrows it to names and domains.
  const qLower = f.q && f.qIn === "name_domain" ? f.q.toLowerCase() : null;
  return (r) =>
    (status === "any" || r.status === status) &&
    (verified === undefined || r.verified === verified) &&
    (origin === "any" || r.origin === origin) &&
    (includeDead || !r.dead) &&
    (language === undefined || languageMatches(r.languages, language)) &&
    (registration === undefined || r.registration === registration) &&
    (qLower === null || r.domain.includes(qLower) || r.name.toLowerCase().includes(qLower));
}

function page(records: ServerRecord[], total: number, limit: number, version: number): ListPage {
  const more = records.length > limit;
  if (more) records.length = limit;
  return { records, total, more, version };
}

/**
 * The `want` records at offset (after the cursor `after`, if any) that `accept` takes, in index order; stops at the
 * page's end or after the `total`-th match.
 */
function walk(idx: OrderedRecords, accept: ((r: ServerRecord) => boolean) | null, offset: number, want: number, total: number, after?: ServerRecord): ServerRecord[] {
  const out: ServerRecord[] = [];
  let seen = 0;
  const visit = (r: ServerRecord) => {
    if (accept && !accept(r)) return false;
    seen++;
    if (seen > offset) out.push(r);
    return out.length === want || seen === total;
  };
  if (after) {
    for (const r of idx.after(after)) if (visit(r)) break;
  } else {
    idx.each(visit);
  }
  return out;
}
