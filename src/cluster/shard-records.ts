// This registrar's own records grouped by shard, regrouped only when records were added since (start-up and a
// failover take many shards at once; regrouping the whole directory for each one would cost shards × records).
import { shardOf } from "../../actors/shards.js";
import type { ServerRecord } from "../core/record.js";
import type { Directory } from "../directory/directory.js";

export class ShardRecords {
  private built: { additions: number; map: Map<number, ServerRecord[]> } | null = null;

  constructor(
    private readonly directory: Directory,
    private readonly registrarId: string,
    private readonly shards: number,
  ) {}

  /** The shard's records listed in the directory now (removed and replaced ones are left out as they are read). */
  of(shard: number): ServerRecord[] {
    if (this.built?.additions !== this.directory.additions) this.rebuild();
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
    this.built = { additions: this.directory.additions, map };
  }
}
