// Liveness gossip from other owners moves only the sort keys that changed (last_seen, and a count only when it
// differs): under random beats every sort index of the receiving node stays ordered (issue 14).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LivenessGossip } from "../../src/cluster/liveness-gossip.js";
import { ServerRecord } from "../../src/core/record.js";
import { Directory } from "../../src/directory/directory.js";
import { SORT_KEYS, comparator, type SortOrder } from "../../src/directory/sort-index.js";
import { encode } from "../../transport/codec.js";
import { InProcessTransport } from "../../transport/in-process.js";

const DOMAINS = ["a.example.com", "b.example.com", "c.example.net", "d.example.org"];
const ORDERS: SortOrder[] = ["asc", "desc"];
const small = fc.integer({ min: 0, max: 3 });
const beat = fc.tuple(fc.constantFrom(...DOMAINS), fc.integer({ min: 0, max: 4 }), small, small);

describe("liveness gossip at a node that does not own the servers", () => {
  it("keeps every sort index ordered under random beats", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(beat, { minLength: 1, maxLength: 6 }), { maxLength: 12 }), async (batches) => {
        const d = new Directory();
        for (const domain of DOMAINS) {
          const r = new ServerRecord(domain, "local");
          r.applyFields({ name: domain, api_url: `https://${domain}/api` });
          r.lastSeenMs = 1000;
          d.add(r);
        }
        // Every index is built before the beats arrive, so each beat must move it right.
        for (const sort of SORT_KEYS) d.list({ sort, order: "asc", status: "any", origin: "any", limit: 1, offset: 0 });
        const transport = new InProcessTransport();
        const gossip = new LivenessGossip(transport, "zt.liveness", d, () => false, () => {});
        gossip.start();
        let t = 1000;
        for (const b of batches) {
          // Later beats are newer (a step of 0 repeats a time, which the receiver ignores).
          transport.publish("zt.liveness", encode({ v: 1, beats: b.map(([domain, step, users, channels]) => [domain, (t += step), users, channels, null]) }));
          await new Promise((r) => setImmediate(r));
        }
        gossip.stop();
        const all = [...d.values()];
        for (const sort of SORT_KEYS) {
          for (const order of ORDERS) {
            const page = d.list({ sort, order, status: "any", origin: "any", limit: 100, offset: 0 });
            expect(page.records.map((r) => r.domain), `${sort} ${order}`).toEqual([...all].sort(comparator(sort, order)).map((r) => r.domain));
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
