// Match sets for `q` searches, kept current on every text change so a repeated search never rescans the directory.
import type { ServerRecord } from "../core/record.js";

export function matchesQuery(r: ServerRecord, qLower: string): boolean {
  return (
    r.domain.includes(qLower) ||
    r.name.toLowerCase().includes(qLower) ||
    (r.description !== null && r.description.toLowerCase().includes(qLower))
  );
}

export class SearchCache {
  private readonly sets = new Map<string, Set<ServerRecord>>();

  constructor(private readonly maxQueries = 256) {}

  /** The records matching q (lower-cased), computed on first use with `all`. */
  get(qLower: string, all: () => Iterable<ServerRecord>): Set<ServerRecord> {
    let set = this.sets.get(qLower);
    if (set) {
      // Refresh LRU position.
      this.sets.delete(qLower);
      this.sets.set(qLower, set);
      return set;
    }
    set = new Set();
    for (const r of all()) if (matchesQuery(r, qLower)) set.add(r);
    if (this.sets.size >= this.maxQueries) this.sets.delete(this.sets.keys().next().value as string);
    this.sets.set(qLower, set);
    return set;
  }

  /** A record was added or its searchable text changed. */
  changed(r: ServerRecord): void {
    for (const [q, set] of this.sets) {
      if (matchesQuery(r, q)) set.add(r);
      else set.delete(r);
    }
  }

  removed(r: ServerRecord): void {
    for (const set of this.sets.values()) set.delete(r);
  }

  clear(): void {
    this.sets.clear();
  }
}
