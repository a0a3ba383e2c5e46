// A node's own records by shard (src/cluster/shard-records.ts): what a shard acquisition loads and adopts. A burst of
// acquisitions must not regroup the whole directory once per shard, yet every read must see what was added since.
import { describe, expect, it, vi } from "vitest";
import { shardOf } from "../../actors/shards.js";
import { ServerRecord } from "../../src/core/record.js";
import { Directory } from "../../src/directory/directory.js";
import { ShardRecords } from "../../src/cluster/shard-records.js";

const SELF = "reg.self.test";
const SHARDS = 16;

function rec(i: number, origin = SELF): ServerRecord {
  return new ServerRecord(`s${i}.example.com`, origin);
}

describe("ShardRecords", () => {
  it("groups this registrar's records by shard, once per change of membership, and sees additions, removals and replacements", () => {
    const d = new Directory();
    for (let i = 0; i < 200; i++) d.add(rec(i, i % 10 === 0 ? "reg.peer.test" : SELF));
    const records = new ShardRecords(d, SELF, SHARDS);
    const scan = vi.spyOn(d, "values");
    const expected = (shard: number) => [...d.values()].filter((r) => r.origin === SELF && shardOf(r.domain, SHARDS) === shard).map((r) => r.domain).sort();
    const read = (shard: number) => records.of(shard).map((r) => r.domain).sort();

    // A burst of acquisitions: one pass over the directory for all shards.
    for (let s = 0; s < SHARDS; s++) expect(read(s)).toEqual(expected(s));
    expect(scan.mock.calls.length - SHARDS).toBe(1);

    // Added records (an event caught up before a load) are seen at once; removed ones are gone.
    const added = rec(1000);
    d.add(added);
    d.remove(d.get("s3.example.com")!);
    const replacement = rec(5);
    d.add(replacement);
    for (let s = 0; s < SHARDS; s++) expect(read(s)).toEqual(expected(s));
    expect(records.of(shardOf(added.domain, SHARDS))).toContain(added);
    expect(records.of(shardOf(replacement.domain, SHARDS))).toContain(replacement);
  });
});
