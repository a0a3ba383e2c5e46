// Issue 5, without I/O: the winner rule, the incremental digest, the trust rule, the wire schema, and the mirror
// view deciding what the directory lists.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RegistryEvent } from "../../src/core/events.js";
import { ServerRecord } from "../../src/core/record.js";
import type { ReplicaHooks } from "../../src/cluster/replica.js";
import { Directory } from "../../src/directory/directory.js";
import { Holdings } from "../../src/federation/holdings.js";
import { MirrorView } from "../../src/federation/mirror-view.js";
import { refusal, relayPath } from "../../src/federation/trust.js";
import { compareCandidates, pickWinner } from "../../src/federation/winner.js";
import { ChangesMessage, decode, FedChange, DecodeError } from "../../src/federation/wire.js";

const cand = (origin: string, createdAtMs: number, verified = false) => ({ origin, createdAtMs, verified });

describe("the winner rule", () => {
  it("prefers verified, then the earlier created_at, then the smaller origin id", () => {
    expect(pickWinner([cand("b", 2), cand("a", 3, true)]).origin).toBe("a");
    expect(pickWinner([cand("b", 2, true), cand("a", 3, true)]).origin).toBe("b");
    expect(pickWinner([cand("b", 2), cand("a", 2)]).origin).toBe("a");
    expect(pickWinner([cand("reg.z", 1), cand("reg.a", 2)]).origin).toBe("reg.z");
  });

  // Contract §8.6 (issue 9, security review H4): a peer's record displaces a local one only when it is verified here
  // and the local one is not; a backdated created_at or a smaller origin id never does.
  it("keeps this registrar's record unless a mirrored one is verified here and the local one is not", () => {
    expect(pickWinner([cand("me", 5), cand("peer", 1)], "me").origin).toBe("me");
    expect(pickWinner([cand("me", 5), cand("aaa", 5)], "me").origin).toBe("me");
    expect(pickWinner([cand("me", 5), cand("peer", 9, true)], "me").origin).toBe("peer");
    expect(pickWinner([cand("me", 5, true), cand("peer", 1, true)], "me").origin).toBe("me");
    // Between mirrored records the §6 rule decides, around the local one.
    expect(pickWinner([cand("p2", 1), cand("me", 5), cand("p1", 9, true), cand("p3", 3, true)], "me").origin).toBe("p3");
  });

  it("picks the same winner with the local rule whatever the order", () => {
    const arb = fc.uniqueArray(fc.record({ origin: fc.constantFrom("me", "a", "b", "c", "d"), createdAtMs: fc.integer({ min: 0, max: 5 }), verified: fc.boolean() }), {
      selector: (c) => c.origin, minLength: 1, maxLength: 5,
    });
    fc.assert(fc.property(arb, fc.nat(), (cands, seed) => {
      const shuffled = [...cands].sort((x, y) => ((x.origin.charCodeAt(0) * (seed + 7)) % 13) - ((y.origin.charCodeAt(0) * (seed + 7)) % 13));
      expect(pickWinner(shuffled, "me")).toBe(pickWinner(cands, "me"));
      for (const c of cands) expect(compareCandidates(pickWinner(cands, "me"), c, "me")).toBeLessThanOrEqual(0);
    }));
  });

  it("picks the same winner whatever order the candidates arrive in", () => {
    const arb = fc.uniqueArray(fc.record({ origin: fc.stringMatching(/^[a-z]{1,3}$/), createdAtMs: fc.integer({ min: 0, max: 5 }), verified: fc.boolean() }), {
      minLength: 1, maxLength: 6, selector: (c) => c.origin,
    });
    fc.assert(fc.property(arb, fc.infiniteStream(fc.nat()), (cands, seeds) => {
      const shuffled = [...cands].sort(() => (seeds.next().value % 3) - 1);
      expect(pickWinner(shuffled)).toBe(pickWinner(cands));
      expect(compareCandidates(pickWinner(cands), cands[0])).toBeLessThanOrEqual(0);
    }));
  });
});

describe("the anti-entropy digest", () => {
  type Op = [domain: string, origin: string, version: number, deleted: boolean];
  const op = fc.tuple(fc.constantFrom("a.example", "b.example", "c.example", "d.example"), fc.constantFrom("x", "y"), fc.integer({ min: 1, max: 20 }), fc.boolean());

  it("depends only on the final state of each record, not on the order or the duplicates of the updates", () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 40 }), fc.infiniteStream(fc.nat()), (ops: Op[], seeds) => {
      const one = new Holdings("self");
      const two = new Holdings("self");
      for (const [d, o, v, del] of ops) one.put(d, o, v, del, 0);
      const shuffled = [...ops, ...ops].sort(() => (seeds.next().value % 3) - 1);
      for (const [d, o, v, del] of shuffled) two.put(d, o, v, del, 0);
      expect(two.root()).toBe(one.root());
      expect(two.groupHashes().equals(one.groupHashes())).toBe(true);
    }));
  });

  it("differs in exactly the group and bucket of a changed record", () => {
    const one = new Holdings("self");
    const two = new Holdings("self");
    for (let i = 0; i < 500; i++) {
      one.put(`s${i}.example`, "x", 1, false, 0);
      two.put(`s${i}.example`, "x", 1, false, 0);
    }
    two.put("s7.example", "x", 2, false, 0);
    expect(two.root()).not.toBe(one.root());
    const differing = [...Array(64).keys()].filter((g) => !one.bucketHashes(g).equals(two.bucketHashes(g)));
    expect(differing).toHaveLength(1);
    expect(two.entries(0).length + one.size).toBeGreaterThan(0);
  });

  it("keeps a tombstone over a live record of the same version (a purge), never the reverse", () => {
    const h = new Holdings("self");
    expect(h.put("a.example", "x", 5, false, 0)).toBe(true);
    expect(h.put("a.example", "x", 5, true, 0)).toBe(true);
    expect(h.put("a.example", "x", 5, false, 0)).toBe(false);
    expect(h.put("a.example", "x", 4, false, 0)).toBe(false);
    expect(h.put("a.example", "x", 6, false, 0)).toBe(true);
  });

  it("prunes tombstones older than the cutoff", () => {
    const h = new Holdings("self");
    h.put("a.example", "x", 1, true, 100);
    h.put("b.example", "x", 1, true, 300);
    h.put("c.example", "x", 1, false, 100);
    const empty = new Holdings("self");
    empty.put("b.example", "x", 1, true, 300);
    empty.put("c.example", "x", 1, false, 100);
    expect(h.pruneTombstones(200)).toBe(1);
    expect(h.root()).toBe(empty.root());
  });
});

describe("the trust rule", () => {
  const p = { self: "me", peers: new Set(["b", "x"]) };
  const ch = (origin: string, path?: string[]) => ({ domain: "d.example", origin, version: 1, at: "", deleted: true, ...(path ? { path } : {}) }) as FedChange;

  it.each([
    ["own record from anyone", ch("me"), "b", "changes", "own_origin"],
    ["a peer's own record on its changes subject", ch("b"), "b", "changes", null],
    ["another origin on a peer's changes subject", ch("c"), "b", "changes", "wrong_origin"],
    ["a peer's own record on its relay subject", ch("b", ["b"]), "b", "relay", "wrong_origin"],
    ["a relayed record of a non-peer", ch("c", ["c", "b"]), "b", "relay", null],
    ["a relayed record of a direct peer", ch("x", ["x", "b"]), "b", "relay", "first_hand_only"],
    ["a relay path that does not end at the sender", ch("c", ["c"]), "b", "relay", "bad_path"],
    ["a relay path through this registrar", ch("c", ["c", "me", "b"]), "b", "relay", "loop"],
    ["a non-peer's record fetched from a peer", ch("c"), "b", "sync", null],
    ["a direct peer's record fetched from another peer", ch("x"), "b", "sync", "first_hand_only"],
  ] as const)("%s", (_title, change, via, channel, expected) => {
    expect(refusal(change, via, channel, p)).toBe(expected);
  });

  it("extends the path with this registrar when relaying", () => {
    expect(relayPath(ch("b"), "b", "me")).toEqual(["b", "me"]);
    expect(relayPath(ch("c"), "b", "me")).toEqual(["c", "b", "me"]);
    expect(relayPath(ch("c", ["c", "d", "b"]), "b", "me")).toEqual(["c", "d", "b", "me"]);
  });
});

describe("the wire schema", () => {
  const server = {
    domain: "chat.example.com", name: "Chat", description: null, icon: null, api_url: "https://chat.example.com/api", ws_url: null,
    voice_url: null, voice_provider: null, cdn_url: null, protocols: ["zent/1"], capabilities: [], version: null, user_count: 1,
    channel_count: 2, verified: false, status: "online", last_seen: "2026-11-22T13:00:00.000Z", created_at: "2026-11-01T09:30:00.000Z",
    rating: { average: 4.5, count: 2 }, origin: "reg.b.example",
  };
  const msg = (changes: unknown[]) => new TextEncoder().encode(JSON.stringify({ v: 1, from: "reg.b.example", pub: "p1", n: 1, changes }));
  const good = { domain: "chat.example.com", origin: "reg.b.example", version: 7, at: "2026-11-22T13:00:00.000Z", deleted: false, server };

  it("accepts a public record of contract §2 and a tombstone", () => {
    const m = decode(ChangesMessage, msg([good, { domain: "gone.example.com", origin: "reg.b.example", version: 8, at: good.at, deleted: true }]), 262_144);
    expect(m.changes).toHaveLength(2);
  });

  it.each([
    ["a record of another domain", { ...good, server: { ...server, domain: "other.example.com" } }],
    ["a record of another origin", { ...good, server: { ...server, origin: "reg.c.example" } }],
    ["a tombstone with a record", { ...good, deleted: true }],
    ["a live change without a record", { ...good, server: undefined }],
    ["a non-canonical domain", { ...good, domain: "Chat.Example.com", server: { ...server, domain: "Chat.Example.com" } }],
    ["a javascript: URL", { ...good, server: { ...server, icon: "javascript:alert(1)" } }],
    ["a URL with credentials", { ...good, server: { ...server, api_url: "https://u:p@chat.example.com/" } }],
    ["a control character in the name", { ...good, server: { ...server, name: "a\u0007b" } }],
    ["a rating average out of range", { ...good, server: { ...server, rating: { average: 9, count: 1 } } }],
    ["an unknown field", { ...good, server: { ...server, token: "abc" } }],
    ["a path not starting at the origin", { ...good, path: ["reg.c.example", "reg.b.example"] }],
    ["a fractional version", { ...good, version: 1.5 }],
  ])("refuses %s", (_title, change) => {
    expect(() => decode(ChangesMessage, msg([change]), 262_144)).toThrow(DecodeError);
  });

  it("refuses a message over the byte bound before parsing it", () => {
    try {
      decode(ChangesMessage, new Uint8Array(300_000), 262_144);
      expect.unreachable();
    } catch (err) {
      expect((err as DecodeError).reason).toBe("too_large");
    }
  });
});

describe("the mirror view", () => {
  const hooks = (owned: Set<string>) => {
    const log: string[] = [];
    const h: ReplicaHooks = { ownsDomain: (d) => owned.has(d), ownedAdded: (r) => log.push(`+${r.origin}`), ownedRemoved: (r) => log.push(`-${r.origin}`) };
    return { h, log };
  };
  const pub = (domain: string, origin: string, createdAt: string, name = origin) => ({
    domain, name, description: null, icon: null, api_url: `https://${domain}/`, ws_url: null, voice_url: null, voice_provider: null,
    cdn_url: null, protocols: [], capabilities: [], version: null, user_count: 0, channel_count: 0, verified: false, status: "online",
    last_seen: createdAt, created_at: createdAt, rating: { average: null, count: 0 }, origin,
  });
  const ev = (type: RegistryEvent["type"], origin: string, data: Record<string, unknown>, domain = "d.example"): RegistryEvent => ({
    seq: 1, type, domain, origin, at: new Date().toISOString(), data,
  });
  function setup() {
    const dir = new Directory();
    const local = new ServerRecord("d.example", "me");
    local.createdAtMs = Date.parse("2026-01-02T00:00:00.000Z");
    dir.load([local]);
    const view = new MirrorView(dir, "me");
    dir.setArbiter(view.contest);
    return { dir, view, local };
  }

  // Contract §8.6 (issue 9): an earlier registration elsewhere no longer takes the domain from this registrar's own
  // record; it does once it is verified here (mirror-store.ts writes this registrar's check into the event data).
  it("keeps its own record against an earlier unverified one elsewhere, yields to it once verified here, takes it back when it goes", () => {
    const { dir, view, local } = setup();
    const { h, log } = hooks(new Set(["d.example"]));
    view.apply(ev("server.registered", "other", pub("d.example", "other", "2026-01-01T00:00:00.000Z")), h);
    expect(dir.get("d.example")).toBe(local);
    expect(view.loserCount).toBe(1);
    view.apply(ev("server.updated", "other", { ...pub("d.example", "other", "2026-01-01T00:00:00.000Z"), verified: true, verified_at: "2026-01-03T00:00:00.000Z" }), h);
    expect(dir.get("d.example")?.origin).toBe("other");
    expect(dir.get("d.example")?.verifiedAtMs).toBe(Date.parse("2026-01-03T00:00:00.000Z"));
    expect(log).toEqual(["-me"]);
    view.apply(ev("server.removed", "other", {}), h);
    expect(dir.get("d.example")).toBe(local);
    expect(view.loserCount).toBe(0);
    expect(log).toEqual(["-me", "+me"]);
  });

  it("keeps a later registration elsewhere aside, and applies its later events there without listing it", () => {
    const { dir, view, local } = setup();
    const { h } = hooks(new Set());
    view.apply(ev("server.registered", "other", pub("d.example", "other", "2026-03-01T00:00:00.000Z")), h);
    view.apply(ev("server.updated", "other", pub("d.example", "other", "2026-03-01T00:00:00.000Z", "renamed")), h);
    view.apply(ev("server.status", "other", { status: "offline", last_seen: "2026-03-02T00:00:00.000Z" }), h);
    expect(dir.get("d.example")).toBe(local);
    const aside = view.find("d.example", "other")!;
    expect(aside.name).toBe("renamed");
    expect(aside.status).toBe("offline");
    expect(dir.list({ sort: "name", order: "asc", status: "any", origin: "any", limit: 10, offset: 0 }).total).toBe(1);
  });

  it("resolves a registration race in the directory itself (a local actor adding while another origin is listed)", () => {
    const dir = new Directory();
    const view = new MirrorView(dir, "me");
    dir.setArbiter(view.contest);
    const { h } = hooks(new Set());
    // Contract §8.6: against an unverified record elsewhere, however early, the local registration is listed.
    view.apply(ev("server.registered", "other", pub("d.example", "other", "2026-01-01T00:00:00.000Z")), h);
    const mine = new ServerRecord("d.example", "me");
    mine.createdAtMs = Date.parse("2026-02-01T00:00:00.000Z");
    dir.add(mine);
    expect(dir.get("d.example")).toBe(mine);
    expect(view.find("d.example", "other")?.origin).toBe("other");
    // Against one verified here, the unverified local registration is kept aside.
    view.apply(ev("server.registered", "third", { ...pub("e.example", "third", "2026-03-01T00:00:00.000Z"), verified: true }, "e.example"), h);
    const late = new ServerRecord("e.example", "me");
    late.createdAtMs = Date.parse("2026-01-01T00:00:00.000Z");
    dir.add(late);
    expect(dir.get("e.example")?.origin).toBe("third");
    expect(view.find("e.example", "me")).toBe(late);
  });

  it("leaves events about this registrar's uncontested records to the replica", () => {
    const { view } = setup();
    expect(view.apply(ev("server.updated", "me", pub("d.example", "me", "2026-01-02T00:00:00.000Z")), hooks(new Set()).h)).toBe(false);
  });
});
