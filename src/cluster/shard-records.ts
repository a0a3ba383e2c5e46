// This registrar's own records grouped by shard, rebuilt at most once per burst of acquisitions (start-up takes
// many shards at once, and regrouping a million records per shard would be quadratic).
import { shardOf } from "../../actors/shards.js";
import type { ServerRecord } from "../core/record.js";
import type { Directory } from "../directory/directory.js";

const REBUILD_AFTER_MS = 1000;

export class ShardRecords {
  private built: { atMs: number; size: number; map: Map<number, ServerRecord[]> } | null = null;

  constructor(
    private readonly directory: Directory,
    private readonly registrarId: string,
    private readonly shards: number,
  ) {}

  /** Forgets the grouping: the next call regroups (a shard was just acquired and its records reloaded). */
  invalidate(): void {
    this.built = null;
  }

  /** The shard's records still listed in the directory. */
  of(shard: number): ServerRecord[] {
    const b = this.built;
    if (!b || Date.now() - b.atMs > REBUILD_AFTER_MS || b.size !== this.directory.size) this.rebuild();
    return (this.built!.map.get(shard) ?? []).filter((r) => this.directory.get(r.domain) === r);
  }

  private rebuild(): void {
    const map = new Map<number, ServerRecord[]>();
    for (const r of this.directory.values()) {
      if (r.origin !== this.registrarId) continue;
      const s = shardOf(r.domain, this.shards);
      let list = map.get(s);
      if (!list) map.set(s, (list = []));
      list.push(r);
    }
    this.built = { atMs: Date.now(), size: this.directory.size, map };
  }
}
