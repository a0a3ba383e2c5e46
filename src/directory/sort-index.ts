// An ordered index of records for one (sort, order) pair: a B+tree keyed by the record itself.
import * as btree from "sorted-btree";

// sorted-btree is CommonJS with a default export: under Node ESM the class sits on `.default`.
type BTree<K, V> = import("sorted-btree").default<K, V>;
const BTree = ((btree as unknown as { default: { default?: unknown } }).default.default ?? btree.default) as typeof import("sorted-btree").default;
import { SORT_FIELD, type ServerRecord } from "../core/record.js";

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
  return (a, b) => sign * key(a, b) || byDomain(a, b);
}

export class SortIndex {
  readonly tree: BTree<ServerRecord, undefined>;
  readonly field: number;
  readonly cmp: Cmp;

  constructor(
    readonly sort: SortKey,
    readonly order: SortOrder,
    records: Iterable<ServerRecord>,
  ) {
    this.field = SORT_FIELD[sort];
    const cmp = (this.cmp = comparator(sort, order));
    this.tree = new BTree<ServerRecord, undefined>(undefined, cmp, 64);
    const sorted = [...records].sort(cmp);
    for (const r of sorted) this.tree.set(r, undefined);
  }

  add(r: ServerRecord): void {
    this.tree.set(r, undefined);
  }

  remove(r: ServerRecord): void {
    this.tree.delete(r);
  }

  /** Records in index order, starting at the first. */
  walk(): IterableIterator<ServerRecord> {
    return this.tree.keys();
  }

  /**
   * Records strictly after `probe` in index order (§9.2 cursors): a B+tree seek, O(log n), not a walk from the
   * start. The probe is a stand-in carrying the last page's sort key and domain; it need not be in the tree.
   */
  *after(probe: ServerRecord): IterableIterator<ServerRecord> {
    for (const r of this.tree.keys(probe)) if (this.cmp(r, probe) > 0) yield r;
  }
}
