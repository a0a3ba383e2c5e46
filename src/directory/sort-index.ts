// An ordered index of records for one (sort, order) pair: a B+tree keyed by the record itself.
import * as btree from "sorted-btree";

// sorted-btree is CommonJS with a default export: under Node ESM the class sits on `.default`.
type BTree<K, V> = import("sorted-btree").default<K, V>;
const BTree = ((btree as unknown as { default: { default?: unknown } }).default.default ?? btree.default) as typeof import("sorted-btree").default;
import * as bulk from "sorted-btree/extended/bulkLoad.js";
import { SORT_FIELD, type ServerRecord } from "../core/record.js";
import { SlicedSort } from "./sliced-sort.js";

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
};

/** Ties break by domain ascending in both orders (contract §3); unrated servers come last for sort=rating. */
export function comparator(sort: SortKey, order: SortOrder): Cmp {
  const key = KEY_CMP[sort];
  const sign = order === "asc" ? 1 : -1;
  if (sort === "rating") {
    return (a, b) => {
      const unrated = (a.ratingCount === 0 ? 1 : 0) - (b.ratingCount === 0 ? 1 : 0);
      return unrated || sign * key(a, b) || byDomain(a, b);
    };
  }
  return (a, b) => sign * key(a, b) || byDomain(a, b);
}

export class SortIndex {
  tree: BTree<ServerRecord, undefined>;
  readonly field: number;
  readonly cmp: Cmp;
  /** While a sliced fill runs: the records changed meanwhile, put in (or left out) when it ends. */
  private changed: Set<ServerRecord> | null = null;

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
   * A sliced fill (src/directory/slices.ts): copies the sort fields of every record from a live iterator of the
   * directory, sorts the copies in steps, then loads the B+tree in one O(n) pass. The copies keep the order right
   * while records change meanwhile; those changed (add/remove calls) are set aside and put in at the end if still
   * listed (`listed`).
   */
  builder(records: Iterator<ServerRecord>, listed: (r: ServerRecord) => boolean): { step(untilMs: number): boolean } {
    this.changed = new Set();
    const all: SortFields[] = [];
    let sorter: SlicedSort<SortFields> | null = null;
    const cmp = this.cmp as unknown as (a: SortFields, b: SortFields) => number;
    return {
      step: (untilMs) => {
        if (!sorter) {
          for (let n = 1; ; n++) {
            const next = records.next();
            if (next.done) break;
            all.push(sortFields(next.value));
            if ((n & 1023) === 0 && performance.now() >= untilMs) return false;
          }
          sorter = new SlicedSort(all, cmp);
        }
        if (!sorter.step(untilMs)) return false;
        this.finish(sorter.result, listed);
        return true;
      },
    };
  }

  private finish(sorted: SortFields[], listed: (r: ServerRecord) => boolean): void {
    const changed = this.changed ?? new Set<ServerRecord>();
    this.changed = null;
    const keys: ServerRecord[] = [];
    for (const f of sorted) if (!changed.has(f.record)) keys.push(f.record);
    this.tree = this.load(keys);
    for (const r of changed) if (listed(r)) this.tree.set(r, undefined);
  }

  /** A B+tree of records in index order; the order is checked (O(n)) since bulk loading requires it. */
  private load(sorted: ServerRecord[]): BTree<ServerRecord, undefined> {
    for (let i = 1; i < sorted.length; i++) {
      if (this.cmp(sorted[i - 1], sorted[i]) >= 0) throw new Error(`sort index ${this.sort}:${this.order} out of order at ${i}`);
    }
    return bulkLoad(sorted, new Array<undefined>(sorted.length), NODE_SIZE, this.cmp, 0.8) as BTree<ServerRecord, undefined>;
  }

  add(r: ServerRecord): void {
    if (this.changed) this.changed.add(r);
    else this.tree.set(r, undefined);
  }

  remove(r: ServerRecord): void {
    if (this.changed) this.changed.add(r);
    else this.tree.delete(r);
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
}

const STOP = { break: true };

/** The fields the comparators read, copied at one moment, and the record they came from (a new sort adds its fields here). */
type SortFields = Pick<ServerRecord, "domain" | "userCount" | "channelCount" | "name" | "nameKey" | "createdAtMs" | "lastSeenMs" | "ratingCount" | "ratingSum"> & { record: ServerRecord };

export function sortFields(r: ServerRecord): SortFields {
  return {
    domain: r.domain, userCount: r.userCount, channelCount: r.channelCount, name: r.name, nameKey: r.nameKey,
    createdAtMs: r.createdAtMs, lastSeenMs: r.lastSeenMs, ratingCount: r.ratingCount, ratingSum: r.ratingSum, record: r,
  };
}
