// The in-memory directory: every known server record, sorted indexes, filter counts and search, read per request.
import type { ServerRecord, Status } from "../core/record.js";
import { SearchCache } from "./search-cache.js";
import { LIVENESS_FIELDS, type FieldMask } from "../core/record.js";
import { SortIndex, comparator, type SortKey, type SortOrder } from "./sort-index.js";
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

/** `more`: at least one more record matches after the page (the listing then answers a next_cursor). */
export type ListPage = { records: ServerRecord[]; total: number; more: boolean };

// Heartbeats move only LIVENESS_FIELDS and do not bump the directory version unless the status changed: a cached
// page may show last_seen and counts (and an order by them) up to PageCache's softTtlMs old.

// Dense q matches are cheaper to find by walking the sort index; sparse ones by selecting from the match set.
const WALK_WHEN_MATCH_FRACTION_ABOVE = 0.05;

export class Directory {
  private readonly records = new Map<string, ServerRecord>();
  private readonly indexes = new Map<string, SortIndex>();
  private readonly counts = new Map<string, number>();
  private readonly search = new SearchCache();
  /** Federation: of two records of different origins for one domain, returns the one to list (src/federation/winner.ts). */
  private arbiter: ((incoming: ServerRecord, listed: ServerRecord) => ServerRecord) | null = null;

  get size(): number {
    return this.records.size;
  }

  get(domain: string): ServerRecord | undefined {
    return this.records.get(domain);
  }

  /**
   * Bumped by every change that can move a record in or out of a page or change what it shows, except
   * heartbeat soft state (last_seen, counts, and the order by them): listing caches key on it.
   */
  version = 0;

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
    this.records.clear();
    this.indexes.clear();
    this.counts.clear();
    this.search.clear();
    for (const r of all) {
      this.records.set(r.domain, r);
      this.count(r, 1);
    }
  }

  /** Builds an index ahead of the first request that needs it (start-up builds the default listing's). */
  prepareIndex(sort: SortKey, order: SortOrder): void {
    this.index(sort, order);
  }

  list(f: ListFilter): ListPage {
    const idx = this.index(f.sort, f.order);
    const accept = makeFilter(f);
    // One more than the page, to know whether a next page exists (§9.2 next_cursor).
    const want = f.limit + 1;
    if (f.q) {
      const matches = this.search.get(f.q.toLowerCase(), () => this.records.values());
      if (matches.size > this.records.size * WALK_WHEN_MATCH_FRACTION_ABOVE) {
        let total = 0;
        for (const r of matches) if (accept(r)) total++;
        return page(walk(idx, (r) => matches.has(r) && accept(r), f.offset, want, f.after), total, f.limit);
      }
      const candidates: ServerRecord[] = [];
      const after = f.after;
      for (const r of matches) if (accept(r)) candidates.push(r);
      const total = candidates.length;
      const rest = after ? candidates.filter((r) => idx.cmp(r, after) > 0) : candidates;
      return page(selectPage(rest, idx.cmp, f.offset, want), total, f.limit);
    }
    // language and registration are not counted per key: their totals take one pass over the records.
    const scanned = f.language !== undefined || f.registration !== undefined;
    let total = 0;
    if (scanned) for (const r of this.records.values()) total += accept(r) ? 1 : 0;
    else total = this.total(f);
    const filtered = scanned || f.status !== "any" || f.verified !== undefined || f.origin !== "any" || this.deadCount() > 0;
    return page(walk(idx, filtered ? accept : null, f.offset, want, f.after), total, f.limit);
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
    for (const [key, c] of this.counts) if (key.startsWith(status)) n += c;
    return n;
  }

  private deadCount(): number {
    let n = 0;
    for (const [key, c] of this.counts) if (key.endsWith("|1")) n += c;
    return n;
  }

  private total(f: ListFilter): number {
    let n = 0;
    for (const [key, c] of this.counts) {
      const [status, verified, origin, dead] = key.split("|");
      if (dead === "1" && !f.includeDead) continue;
      if (f.status !== "any" && status !== f.status) continue;
      if (f.verified !== undefined && (verified === "1") !== f.verified) continue;
      if (f.origin !== "any" && origin !== f.origin) continue;
      n += c;
    }
    return n;
  }

  private count(r: ServerRecord, delta: number): void {
    const key = `${r.status}|${r.verified ? 1 : 0}|${r.origin}|${r.dead ? 1 : 0}`;
    const n = (this.counts.get(key) ?? 0) + delta;
    if (n === 0) this.counts.delete(key);
    else this.counts.set(key, n);
  }

  // Indexes are built on first use, so sorts nobody asks for cost no memory and no heartbeat work.
  private index(sort: SortKey, order: SortOrder): SortIndex {
    const key = `${sort}:${order}`;
    let idx = this.indexes.get(key);
    if (!idx) {
      idx = new SortIndex(sort, order, this.records.values());
      this.indexes.set(key, idx);
    }
    return idx;
  }
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

function page(records: ServerRecord[], total: number, limit: number): ListPage {
  const more = records.length > limit;
  if (more) records.length = limit;
  return { records, total, more };
}

function walk(idx: SortIndex, accept: ((r: ServerRecord) => boolean) | null, offset: number, limit: number, after?: ServerRecord): ServerRecord[] {
  const out: ServerRecord[] = [];
  let skipped = 0;
  for (const r of after ? idx.after(after) : idx.walk()) {
    if (accept && !accept(r)) continue;
    if (skipped < offset) {
      skipped++;
      continue;
    }
    out.push(r);
    if (out.length === limit) break;
  }
  return out;
}
