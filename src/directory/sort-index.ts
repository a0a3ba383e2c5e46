// An ordered index of records for one (sort, order) pair: a B+tree keyed by the record itself.
import * as btree from "sorted-btree";

// sorted-btree is CommonJS with a default export: under Node ESM the class sits on `.default`.
type BTree<K, V> = import("sorted-btree").default<K, V>;
const BTree = ((btree as unknown as { default: { default?: unknown } }).default.default ?? btree.default) as typeof import("sorted-btree").default;
import * as bulk from "sorted-btree/extended/bulkLoad.js";
import { SORT_FIELD, type ServerRecord } from "../core/record.js";

const bulkLoad = ((bulk as unknown as { default?: typeof bulk }).default ?? bulk).bulkLoad;
const NODE_SIZE = 64;

/** The sorts of contract §3; each reads the record fields named by its bit in SORT_FIELD (src/core/record.ts). */
export type SortKey = keyof typeof SORT_FIELD;
export type SortOrder = "asc" | "desc";
export const SORT_KEYS = Object.keys(SORT_FIELD) as SortKey[];

type Cmp = (a: ServerRecord, b: ServerRecord) => number;

const byDomain: Cmp = (a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0);
const num = (f: (r: ServerRecord) => number): Cmp => (a, b) => f(a) - f(b);
// Names read A→Z whatever their case ("alpha" before "Bravo"); the exact text then keeps the order total.
const byName: Cmp = (a, b) => {
  const x = a.nameKey;
  const y = b.nameKey;
  if (x !== y) return x < y ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
};

const KEY_CMP: Record<SortKey, Cmp> = {
  users: num((r) => r.userCount),
  channels: num((r) => r.channelCount),
  name: byName,
  created: num((r) => r.createdAtMs),
  last_seen: num((r) => r.lastSeenMs),
  rating: num((r) => (r.ratingCount === 0 ? 0 : r.ratingSum / r.ratingCount)),
  uptime: num((r) => r.uptime30d ?? 0),
};

// Heartbeats move records in the last_seen index and, when a count changes, in the users or channels indexes, so
// these comparators read their field directly instead of through the closures below: they run ~30 times per index
// per heartbeat. byDomain is one top-level function, which V8 inlines.
const lastSeenAsc: Cmp = (a, b) => a.lastSeenMs - b.lastSeenMs || byDomain(a, b);
const lastSeenDesc: Cmp = (a, b) => b.lastSeenMs - a.lastSeenMs || byDomain(a, b);
const usersAsc: Cmp = (a, b) => a.userCount - b.userCount || byDomain(a, b);
const usersDesc: Cmp = (a, b) => b.userCount - a.userCount || byDomain(a, b);
const channelsAsc: Cmp = (a, b) => a.channelCount - b.channelCount || byDomain(a, b);
const channelsDesc: Cmp = (a, b) => b.channelCount - a.channelCount || byDomain(a, b);

/**
 * Ties break by domain ascending in both orders (contract §3); unrated servers come last for sort=rating, and
 * servers without uptime data last for sort=uptime (§9.2, like unrated ones).
 */
export function comparator(sort: SortKey, order: SortOrder): Cmp {
  const key = KEY_CMP[sort];
  const sign = order === "asc" ? 1 : -1;
  if (sort === "rating") {
    return (a, b) => {
      const unrated = (a.ratingCount === 0 ? 1 : 0) - (b.ratingCount === 0 ? 1 : 0);
      return unrated || sign * key(a, b) || byDomain(a, b);
    };
  }
  if (sort === "uptime") {
    return (a, b) => {
      const unknown = (a.uptime30d === null ? 1 : 0) - (b.uptime30d === null ? 1 : 0);
      return unknown || sign * key(a, b) || byDomain(a, b);
    };
  }
  if (sort === "last_seen") return order === "asc" ? lastSeenAsc : lastSeenDesc;
  if (sort === "users") return order === "asc" ? usersAsc : usersDesc;
  if (sort === "channels") return order === "asc" ? channelsAsc : channelsDesc;
  return (a, b) => sign * key(a, b) || byDomain(a, b);
}

/** What a listing reads from an index: its order, its size and walks in that order. */
export interface OrderedRecords {
  readonly cmp: Cmp;
  readonly size: number;
  each(visit: (r: ServerRecord) => boolean): void;
  after(probe: ServerRecord): IterableIterator<ServerRecord>;
}

export class SortIndex implements OrderedRecords {
  tree: BTree<ServerRecord, undefined>;
  readonly field: number;
  readonly cmp: Cmp;

  /** Built at once from `records`, or empty when none are given: then fill it with `builder()` in slices. */
  constructor(
    readonly sort: SortKey,
    readonly order: SortOrder,
    records?: Iterable<ServerRecord>,
  ) {
    this.field = SORT_FIELD[sort];
    this.cmp = comparator(sort, order);
    this.tree = new BTree<ServerRecord, undefined>(undefined, this.cmp, NODE_SIZE);
    if (records) this.tree = this.load([...records].sort(this.cmp));
  }

  /**
   * A sliced fill (src/directory/slices.ts) from a live iterator of the directory. The tree is live from the start:
   * changes made meanwhile reach it through add/remove like a built one, the iterator skips removed records, and
   * setting a record already there is a no-op, so the fill can run in any order and in any number of steps.
   */
  builder(records: Iterator<ServerRecord>): { step(untilMs: number): boolean } {
    // Runs sorted before inserting keep the B+tree's inserts near each other (cache-friendly).
    const RUN = 256;
    const run: ServerRecord[] = [];
    return {
      step: (untilMs) => {
        for (;;) {
          run.length = 0;
          for (let next = records.next(); !next.done; next = records.next()) {
            run.push(next.value);
            if (run.length === RUN) break;
          }
          run.sort(this.cmp);
          for (const r of run) this.tree.set(r, undefined);
          if (run.length < RUN) return true;
          if (performance.now() >= untilMs) return false;
        }
      },
    };
  }

  /** A B+tree of records already in index order, in one O(n) pass (bulk loading checks the order). */
  private load(sorted: ServerRecord[]): BTree<ServerRecord, undefined> {
    return bulkLoad(sorted, new Array<undefined>(sorted.length), NODE_SIZE, this.cmp, 0.8) as BTree<ServerRecord, undefined>;
  }

  add(r: ServerRecord): void {
    this.tree.set(r, undefined);
  }

  remove(r: ServerRecord): void {
    this.tree.delete(r);
  }

  get size(): number {
    return this.tree.size;
  }

  /** Records in index order, starting at the first. */
  walk(): IterableIterator<ServerRecord> {
    return this.tree.keys();
  }

  /**
   * Calls `visit` on records in index order until it returns true. The B+tree's callback walk is several times
   * cheaper per record than its iterator, which matters for filtered walks that visit much of the directory.
   */
  each(visit: (r: ServerRecord) => boolean): void {
    this.tree.forEachPair((r) => (visit(r) ? STOP : undefined));
  }

  /**
   * Records strictly after `probe` in index order (§9.2 cursors): a B+tree seek, O(log n), not a walk from the
   * start. The probe is a stand-in carrying the last page's sort key and domain; it need not be in the tree.
   */
  *after(probe: ServerRecord): IterableIterator<ServerRecord> {
    for (const r of this.tree.keys(probe)) if (this.cmp(r, probe) > 0) yield r;
  }
}

const STOP = { break: true };

/**
 * sort=last_seen&order=desc read backwards from the ascending index, so a heartbeat moves its record in one tree,
 * not two. Backwards, records of one millisecond come in domain descending order; ties break by domain ascending in
 * both orders (contract §3), so each run of equal last_seen is turned around before it is visited.
 */
export class NewestFirst implements OrderedRecords {
  readonly cmp = lastSeenDesc;

  constructor(private readonly asc: SortIndex) {}

  get size(): number {
    return this.asc.size;
  }

  // Listings walk with this (deep offsets, filtered pages over 100,000 records): straight down the tree's nodes from
  // the right, as fast as the forward callback walk. The node layout is sorted-btree's (its test here pins it).
  each(visit: (r: ServerRecord) => boolean): void {
    const run: ServerRecord[] = [];
    let runMs = NaN;
    const flush = (): boolean => {
      for (let i = run.length - 1; i >= 0; i--) if (visit(run[i])) return true;
      run.length = 0;
      return false;
    };
    const down = (node: TreeNode): boolean => {
      const { children, keys } = node;
      if (children) {
        for (let c = children.length - 1; c >= 0; c--) if (down(children[c])) return true;
        return false;
      }
      for (let i = keys.length - 1; i >= 0; i--) {
        const r = keys[i];
        if (r.lastSeenMs !== runMs) {
          if (flush()) return true;
          runMs = r.lastSeenMs;
        }
        run.push(r);
      }
      return false;
    };
    if (!down((this.asc.tree as unknown as { _root: TreeNode })._root)) flush();
  }

  /** Records after `probe` in this order: the rest of its millisecond (domains above it), then older ones. */
  *after(probe: ServerRecord): IterableIterator<ServerRecord> {
    for (const r of this.asc.tree.keys(probe)) {
      if (r.lastSeenMs !== probe.lastSeenMs) break;
      if (r.domain > probe.domain) yield r;
    }
    yield* this.from(probe.lastSeenMs);
  }

  /** Newest first, from the records strictly older than `belowMs` (all of them when undefined). */
  private *from(belowMs: number | undefined): IterableIterator<ServerRecord> {
    // A stand-in ordered before every real record of belowMs (no domain is empty): the walk starts just below it.
    const start = belowMs === undefined ? undefined : Object.assign(Object.create(null) as ServerRecord, { lastSeenMs: belowMs, domain: "" });
    if (this.asc.size === 0) return;
    const run: ServerRecord[] = [];
    let runMs = NaN;
    for (const [r] of this.asc.tree.entriesReversed(start, [] as unknown as [ServerRecord, undefined], true)) {
      if (r.lastSeenMs !== runMs) {
        for (let i = run.length - 1; i >= 0; i--) yield run[i];
        run.length = 0;
        runMs = r.lastSeenMs;
      }
      run.push(r);
    }
    for (let i = run.length - 1; i >= 0; i--) yield run[i];
  }
}

/** A sorted-btree node: a leaf holds records in order; an inner node its children in order. */
type TreeNode = { keys: ServerRecord[]; children?: TreeNode[] };
