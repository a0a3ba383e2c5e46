// Issue 14: heartbeats for servers another node owns go to that node in one batch per event-loop turn; each beat
// gets the reply or error it would get one by one, and what the presumed owner does not take (moved shard, no
// responder, an unreadable batch) goes to the shard's mailbox one by one and still succeeds.
import { describe, expect, it } from "vitest";
import { BEATS_PER_BATCH, type ActorApi, type HeartbeatCommand, type ServerCommand } from "../../actors/commands.js";
import { MASS_EXPIRY_DEFAULTS } from "../../actors/mass-expiry.js";
import { ServerActors } from "../../actors/server-actors.js";
import { shardOf } from "../../actors/shards.js";
import { ClusterActors } from "../../src/cluster/cluster-actors.js";
import { BeatForwarder, serveBeats } from "../../src/cluster/forwarded-beats.js";
import { UnauthorizedError, UnavailableError } from "../../src/core/errors.js";
import { hashToken } from "../../src/core/tokens.js";
import { encode } from "../../transport/codec.js";
import { InProcessTransport } from "../../transport/in-process.js";
import { FakeDirectory, FakeStore, ManualClock } from "../support/actor-fakes.js";

const SHARDS = 8;
const hash = (n: number) => hashToken(String(n).repeat(64).slice(0, 64)).toString("hex");
const by = { kind: "domain" as const, id: "a.example.com" };
const mailbox = (s: number) => `zt.shard.${s}`;
const beatsOf = (node: string) => `zt.node.${node}.beats`;

function actors(directory: FakeDirectory): ServerActors {
  return new ServerActors(
    { registrarId: "local", offlineAfterMs: 60_000, tokenTtlDays: 1, tokenMaxAgeDays: 2, massExpiry: MASS_EXPIRY_DEFAULTS },
    directory, new FakeStore(), { publish() {} }, { markDirty() {} }, new ManualClock(), () => {},
  );
}

/**
 * An edge that owns nothing and presumes node "b" owns every shard; "b" serves its beats subject for the shards
 * `bAccepts` says, and the shard mailboxes (all shards) run on the same actors, as a new owner would.
 */
function cluster(opts: { bAccepts?: (shard: number) => boolean; bServesBeats?: boolean } = {}) {
  const transport = new InProcessTransport();
  const directory = new FakeDirectory();
  const owner = actors(directory);
  const sent: ServerCommand[] = [];
  const spy: ActorApi = { send: (cmd) => (sent.push(cmd), owner.send(cmd)) };
  const drops: string[] = [];
  const onDrop = (k: string, r: string) => void drops.push(`${k}:${r}`);
  const settings = { shards: SHARDS, requestTimeoutMs: 1000, retryBudgetMs: 2000 };
  const mailboxes = new ClusterActors(spy, () => true, transport, mailbox, settings, spy, () => {}, onDrop);
  for (let s = 0; s < SHARDS; s++) mailboxes.serve(s);
  if (opts.bServesBeats !== false) serveBeats(transport, beatsOf("b"), { local: spy, accepts: opts.bAccepts ?? (() => true), shards: SHARDS, onDrop });
  const batches: number[] = [];
  const forwarder = new BeatForwarder({
    transport, presumedOwner: () => "b", nodeId: "a", shards: SHARDS, subject: beatsOf, requestTimeoutMs: 1000,
    onBatch: (n) => void batches.push(n), onLatency: () => {}, onDrop,
  });
  const edge = new ClusterActors(spy, () => false, transport, mailbox, settings, spy, () => {}, onDrop, async () => {}, forwarder);
  return { transport, owner, directory, edge, forwarder, sent, drops, batches };
}

async function register(api: ActorApi, n: number): Promise<{ domain: string; tokenHash: string }[]> {
  const out = [];
  for (let i = 0; i < n; i++) {
    const domain = `s${i}.example.com`;
    await api.send({ type: "register", domain, fields: { name: `S${i}`, api_url: `https://${domain}/api` }, tokenHash: hash(1), by });
    out.push({ domain, tokenHash: hash(1) });
  }
  return out;
}

const beat = (domain: string, tokenHash: string | null, users = 1): HeartbeatCommand => ({ type: "heartbeat", domain, tokenHash, stats: { user_count: users } });
const settle = (p: Promise<unknown>) => p.then((ok) => ({ ok }), (error: unknown) => ({ error }));

describe("forwarded heartbeats", () => {
  it("go to the presumed owner in one batch per turn, each with its own reply", async () => {
    const c = cluster();
    const servers = await register(c.owner, 20);
    c.sent.length = 0;
    const replies = await Promise.all(servers.map((s, i) => c.edge.send(beat(s.domain, s.tokenHash, i))));
    expect(c.batches).toEqual([20]);
    for (const [i, r] of replies.entries()) {
      expect(r.status).toBe("online");
      const rec = c.directory.get(servers[i].domain)!;
      expect([rec.lastSeenMs, rec.userCount]).toEqual([r.lastSeenMs, i]);
    }
    // The owner ran heartbeat commands only, exactly as sent.
    expect(c.sent).toEqual(servers.map((s, i) => beat(s.domain, s.tokenHash, i)));
    expect(c.forwarder.stats).toEqual({ batches: 1, beats: 20, fallbacks: 0 });
    expect(c.drops).toEqual([]);
  });

  it("answers a wrong token in a batch with its own 401 while the others succeed", async () => {
    const c = cluster();
    const servers = await register(c.owner, 6);
    const outcomes = await Promise.all(servers.map((s, i) => settle(c.edge.send(beat(s.domain, i % 3 === 1 ? hash(7) : s.tokenHash)))));
    expect(c.batches).toEqual([6]);
    for (const [i, o] of outcomes.entries()) {
      if (i % 3 === 1) expect((o as { error: unknown }).error).toBeInstanceOf(UnauthorizedError);
      else expect((o as { ok: { status: string } }).ok.status).toBe("online");
    }
    expect(c.forwarder.stats.fallbacks).toBe(0);
  });

  it("closes a batch at BEATS_PER_BATCH", async () => {
    const c = cluster();
    const servers = await register(c.owner, BEATS_PER_BATCH + 10);
    await Promise.all(servers.map((s) => c.edge.send(beat(s.domain, s.tokenHash))));
    expect(c.batches).toEqual([BEATS_PER_BATCH, 10]);
  });

  it("sends the beats of shards the presumed owner does not accept to their mailboxes, one by one", async () => {
    const c = cluster({ bAccepts: (shard) => shard % 2 === 0 });
    const servers = await register(c.owner, 16);
    const moved = servers.filter((s) => shardOf(s.domain, SHARDS) % 2 === 1).length;
    expect(moved).toBeGreaterThan(0);
    const replies = await Promise.all(servers.map((s) => c.edge.send(beat(s.domain, s.tokenHash))));
    expect(replies.every((r) => r.status === "online")).toBe(true);
    expect(c.batches).toEqual([16]);
    expect(c.forwarder.stats.fallbacks).toBe(moved);
    expect(c.edge.stats.remote).toBe(16 + moved);
  });

  it("sends every beat one by one when the presumed owner does not answer its subject", async () => {
    const c = cluster({ bServesBeats: false });
    const servers = await register(c.owner, 5);
    const replies = await Promise.all(servers.map((s) => c.edge.send(beat(s.domain, s.tokenHash))));
    expect(replies.every((r) => r.status === "online")).toBe(true);
    expect(c.forwarder.stats.fallbacks).toBe(5);
  });

  it("answers 503 to every beat of a batch whose reply cannot be read, and counts it", async () => {
    const c = cluster({ bServesBeats: false });
    c.transport.serve(beatsOf("b"), async () => encode({ v: 1, replies: [{ ok: { status: "online", lastSeenMs: 1, tokenExpiresMs: "soon" } }] }));
    const outcomes = await Promise.all(["x.example.com", "y.example.com"].map((d) => settle(c.edge.send(beat(d, hash(1))))));
    for (const o of outcomes) expect((o as { error: unknown }).error).toBeInstanceOf(UnavailableError);
    expect(c.drops).toEqual(["beats_reply:invalid"]);
  });

  it.each([
    ["not JSON", Buffer.from("[[[", "utf8"), "not_json"],
    ["another version", encode({ v: 2, beats: [["a.example.com", null, {}]] }), "invalid"],
    ["a full command instead of an item", encode({ v: 1, beats: [{ type: "heartbeat", domain: "a.example.com", tokenHash: null, stats: {} }] }), "invalid"],
    ["a raw token where a hash belongs", encode({ v: 1, beats: [["a.example.com", "A".repeat(64), {}]] }), "invalid"],
    ["an unknown stat", encode({ v: 1, beats: [["a.example.com", null, { user_count: 1, admin: true }]] }), "invalid"],
    ["an empty batch", encode({ v: 1, beats: [] }), "invalid"],
    ["too many beats", encode({ v: 1, beats: Array.from({ length: BEATS_PER_BATCH + 1 }, () => ["a.example.com", null, {}]) }), "invalid"],
    ["an oversized batch", encode({ v: 1, beats: [["a.example.com", null, { version: "x".repeat(600_000) }]] }), "too_large"],
  ])("drops %s at the owner, counts it and runs nothing", async (_what, payload, reason) => {
    const c = cluster();
    const reply = JSON.parse(Buffer.from(await c.transport.request(beatsOf("b"), payload, 1000)).toString("utf8"));
    expect(reply).toMatchObject({ v: 1, error: { code: "unavailable" } });
    expect(c.sent).toEqual([]);
    expect(c.drops).toEqual([`beats:${reason}`]);
  });
});
