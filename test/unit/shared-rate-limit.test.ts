// Cluster-wide rate limits over a transport: what a node counts in one event-loop turn goes out as one message,
// summed per (limiter, key, window); the other node adds it, its own echo is ignored, and a single report of the
// shape nodes sent before batching is still read (rolling upgrades).
import { setImmediate as nextTurn } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { RateLimitReporter, SharedRateLimiter } from "../../src/cluster/shared-rate-limit.js";
import type { RateLimiter } from "../../src/security/rate-limit.js";
import { encode } from "../../transport/codec.js";
import { InProcessTransport } from "../../transport/in-process.js";

const SUBJECT = "zent.t.ratelimit";
const NOW = 1_800_000_000_000; // a window boundary of a 60 s limit
const opts = { limit: 10, windowS: 60, now: () => NOW + 5_000 };

function node(id: string, transport: InProcessTransport, drops: string[]) {
  const heartbeat = new SharedRateLimiter(opts, "heartbeat", new RateLimitReporter(id, transport, SUBJECT));
  const sub = SharedRateLimiter.listen(transport, SUBJECT, id, new Map<string, RateLimiter>([["heartbeat", heartbeat]]), (kind, reason) => drops.push(`${kind}:${reason}`));
  return { heartbeat, sub };
}

describe("shared rate limits", () => {
  it("send one message per turn with the counts summed, which the other node adds and the sender ignores", async () => {
    const transport = new InProcessTransport();
    const drops: string[] = [];
    const messages: unknown[] = [];
    transport.subscribe(SUBJECT, (data) => messages.push(JSON.parse(Buffer.from(data).toString("utf8"))));
    const a = node("a", transport, drops);
    const b = node("b", transport, drops);

    for (let i = 0; i < 4; i++) expect(a.heartbeat.take("one.example.com").allowed).toBe(true);
    a.heartbeat.reserve("two.example.com").commit();
    a.heartbeat.reserve("two.example.com").cancel(); // given back: never reported
    await nextTurn();
    await nextTurn();

    expect(messages).toEqual([{ v: 1, from: "a", counts: [["heartbeat", "one.example.com", NOW, 4], ["heartbeat", "two.example.com", NOW, 1]] }]);
    // b now counts a's requests: 6 of 10 left for one, 9 for two; a did not add its own report a second time.
    expect(b.heartbeat.take("one.example.com").remaining).toBe(5);
    expect(b.heartbeat.take("two.example.com").remaining).toBe(8);
    expect(a.heartbeat.take("one.example.com").remaining).toBe(5);
    expect(drops).toEqual([]);
    a.sub.unsubscribe();
    b.sub.unsubscribe();
  });

  it("read a single report from a node that does not batch, and drop a batch with a bad count", async () => {
    const transport = new InProcessTransport();
    const drops: string[] = [];
    const b = node("b", transport, drops);
    transport.publish(SUBJECT, encode({ v: 1, n: "heartbeat", k: "one.example.com", w: NOW, c: 3, from: "old" }));
    transport.publish(SUBJECT, encode({ v: 1, from: "x", counts: [["heartbeat", "one.example.com", NOW, -50]] }));
    transport.publish(SUBJECT, encode({ v: 1, from: "x", counts: [] }));
    await nextTurn();
    expect(b.heartbeat.take("one.example.com").remaining).toBe(6);
    expect(drops).toEqual(["ratelimit:invalid", "ratelimit:invalid"]);
    b.sub.unsubscribe();
  });
});
