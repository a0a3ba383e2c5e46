// Match sets for `q` searches. A new term is scanned in slices between event-loop turns (src/directory/slices.ts),
// never in one go; once found, a set is kept current on every text change so a repeated search never rescans, and the
// sets together stay under a byte budget (part of CACHE_MAX_BYTES) and a count (each text change visits every set).
import type { ServerRecord } from "../core/record.js";
import { SliceJob, type SliceRunner } from "./slices.js";

export function matchesQuery(r: ServerRecord, qLower: string): boolean {
  if (r.domain.includes(qLower) || r.nameKey.includes(qLower)) return true;
  const desc = r.descriptionKey;
  return desc !== null && desc.includes(qLower);
}

/** Heap per Set entry (a hash-table slot and its share of the table's slack), measured at ~26 B; rounded up. */
const BYTES_PER_MATCH = 32;
const BYTES_PER_SET = 200;

type Scan = { set: Set<ServerRecord>; job: SliceJob };

export class SearchCache {
  private readonly sets = new Map<string, Set<ServerRecord>>();
  private readonly scans = new Map<string, Scan>();
  private bytes = 0;

  constructor(
    private readonly slices: SliceRunner,
    private readonly maxBytes = 128 * 2 ** 20,
    private readonly maxSets = 1024,
  ) {}

  /** Estimated heap held by the cached sets. */
  get bytesUsed(): number {
    return this.bytes;
  }

  /** The cached set of q (lower-cased), if any. */
  cached(qLower: string): Set<ServerRecord> | undefined {
    const set = this.sets.get(qLower);
    if (set) {
      // Refresh the LRU position.
      this.sets.delete(qLower);
      this.sets.set(qLower, set);
    }
    return set;
  }

  /** The records matching q, from the cache or from a sliced scan of `all` (a live iterator of the directory). */
  async matches(qLower: string, all: () => IterableIterator<ServerRecord>): Promise<Set<ServerRecord>> {
    const hit = this.cached(qLower);
    if (hit) return hit;
    const scan = this.scan(qLower, all, true);
    await scan.job.done;
    // Read right after the last slice, before any other change can run: the set is current.
    return this.sets.get(qLower) ?? scan.set;
  }

  /** The same, at once (callers that cannot wait; anonymous requests go through matches()). */
  matchesNow(qLower: string, all: () => IterableIterator<ServerRecord>): Set<ServerRecord> {
    const hit = this.cached(qLower);
    if (hit) return hit;
    const scan = this.scan(qLower, all, true);
    this.slices.finishNow(scan.job);
    return scan.set;
  }

  /** A record was added or its searchable text changed. */
  changed(r: ServerRecord): void {
    const desc = r.descriptionKey;
    const test = (q: string) => r.domain.includes(q) || r.nameKey.includes(q) || (desc !== null && desc.includes(q));
    for (const [q, set] of this.sets) this.bytes += update(set, r, test(q));
    for (const [q, scan] of this.scans) update(scan.set, r, test(q));
  }

  removed(r: ServerRecord): void {
    for (const set of this.sets.values()) if (set.delete(r)) this.bytes -= BYTES_PER_MATCH;
    for (const scan of this.scans.values()) scan.set.delete(r);
  }

  clear(): void {
    this.sets.clear();
    this.scans.clear();
    this.bytes = 0;
  }

  private scan(qLower: string, all: () => IterableIterator<ServerRecord>, urgent: boolean): Scan {
    const running = this.scans.get(qLower);
    if (running) {
      this.slices.promote(running.job);
      return running;
    }
    const set = new Set<ServerRecord>();
    // A live Map iterator: records added meanwhile are visited (or reach the set through changed()), removed ones not.
    const it = all();
    const task = {
      step: (untilMs: number) => {
        for (let n = 0; ; n++) {
          const next = it.next();
          if (next.done) return true;
          if (matchesQuery(next.value, qLower)) set.add(next.value);
          if ((n & 255) === 255 && performance.now() >= untilMs) return false;
        }
      },
    };
    const scan: Scan = { set, job: this.slices.schedule(task, urgent) };
    this.scans.set(qLower, scan);
    void scan.job.done.then(() => {
      if (this.scans.get(qLower) !== scan) return;
      this.scans.delete(qLower);
      this.keep(qLower, set);
    });
    return scan;
  }

  private keep(qLower: string, set: Set<ServerRecord>): void {
    const size = BYTES_PER_SET + set.size * BYTES_PER_MATCH;
    // A set larger than the whole budget is used once and not kept.
    if (size > this.maxBytes) return;
    this.sets.set(qLower, set);
    this.bytes += size;
    for (const [q, old] of this.sets) {
      if (this.bytes <= this.maxBytes && this.sets.size <= this.maxSets) break;
      this.sets.delete(q);
      this.bytes -= BYTES_PER_SET + old.size * BYTES_PER_MATCH;
    }
  }
}

/** Adds or removes r; returns the change in estimated bytes. */
function update(set: Set<ServerRecord>, r: ServerRecord, matches: boolean): number {
  if (matches) {
    if (set.has(r)) return 0;
    set.add(r);
    return BYTES_PER_MATCH;
  }
  return set.delete(r) ? -BYTES_PER_MATCH : 0;
}
