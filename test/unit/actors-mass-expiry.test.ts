// Mass-expiry protection (contract §10) in the server actors, with fakes and a hand-cranked clock: a large share of
// servers reaching their deadline at once is held, released when heartbeats return or when the hold ends; a small
// group still goes offline on time; the same rule applies at start-up.
import { describe, expect, it, vi } from "vitest";
import type { Initiator, RegistryEvent } from "../../src/core/events.js";
import { ServerActors, type ActorSettings } from "../../actors/server-actors.js";
import { actorCalls } from "../support/actor-calls.js";
import { FakeDirectory, FakeStore, ManualClock, T0 } from "../support/actor-fakes.js";
import { ServerRecord } from "../../src/core/record.js";

const OFFLINE_MS = 1_000;
const HOLD_MS = 10_000;
const by: Initiator = { kind: "ip", id: "127.0.0.1" };

async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/** `n` registered servers, all heard from at T0; massExpiry: more than 20 % and at least 5 within a minute. */
async function setup(n: number) {
  const settings: ActorSettings = {
    registrarId: "local", offlineAfterMs: OFFLINE_MS, tokenTtlDays: 365, tokenMaxAgeDays: 730, massExpiry: { ratio: 0.2, min: 5, holdMs: HOLD_MS },
  };
  const clock = new ManualClock();
  const directory = new FakeDirectory();
  const published: RegistryEvent[] = [];
  const raw = new ServerActors(settings, directory, new FakeStore(), { publish: (e) => void published.push(e) }, { markDirty() {} }, clock, () => {});
  raw.start();
  const actors = actorCalls(raw);
  const tokens = new Map<string, string>();
  const domains = Array.from({ length: n }, (_, i) => `s${i}.example.com`);
  for (const d of domains) tokens.set(d, (await actors.register(d, { name: d, api_url: `https://${d}/api` }, by)).token);
  const beat = (ds: string[]) => Promise.all(ds.map((d) => actors.heartbeat(d, tokens.get(d)!, {})));
  const offline = () => domains.filter((d) => directory.get(d)!.status === "offline");
  /** Advance in steps, heartbeating `alive` every 200 ms like healthy servers do. */
  async function run(ms: number, alive: string[]) {
    for (let t = 0; t < ms; t += 200) {
      await beat(alive);
      clock.advance(200);
      await settle();
    }
  }
  return { raw, clock, domains, beat, offline, run, published };
}

describe("mass-expiry protection", () => {
  it("turns a single silent server offline on its deadline while the others heartbeat", async () => {
    const { raw, domains, offline, run } = await setup(40);
    await run(OFFLINE_MS + 100, domains.slice(1));
    expect(offline()).toEqual([domains[0]]);
    expect(raw.expiry.state).toBe("normal");
  });

  it("turns a small group (below the threshold) offline on time", async () => {
    const { raw, domains, offline, run } = await setup(40);
    // 7 of 40 is under 20 %: nothing is held.
    await run(OFFLINE_MS + 100, domains.slice(7));
    expect(offline()).toEqual(domains.slice(0, 7));
    expect(raw.expiry.state).toBe("normal");
    expect(raw.expiry.stats.holds).toBe(0);
  });

  it("holds when a large share goes silent at once and releases when their heartbeats come back; those still silent go offline one deadline later", async () => {
    const { raw, domains, offline, run } = await setup(40);
    const silent = domains.slice(0, 30);
    const alive = domains.slice(30);
    await run(OFFLINE_MS + 100, alive);
    expect(raw.expiry.state).toBe("held");
    const flapped = offline();
    // Below the threshold they went offline as usual; from the one that crossed it on, all are held.
    expect(flapped.length).toBeLessThan(30 * 0.5);
    expect(raw.expiry.heldCount).toBe(30 - flapped.length);
    await run(2_000, alive);
    expect(offline()).toEqual(flapped);
    // The ingress is back: the held servers heartbeat again, except one.
    const dead = silent.find((d) => !flapped.includes(d))!;
    const back = silent.filter((d) => d !== dead);
    await run(200, [...alive, ...back]);
    expect(raw.expiry.state).toBe("normal");
    expect(raw.expiry.stats.releases).toEqual({ heartbeats: 1, timeout: 0 });
    expect(offline()).toEqual([]);
    // The one still silent gets a usual deadline from the release on, then goes offline.
    await run(OFFLINE_MS - 400, [...alive, ...back]);
    expect(offline()).toEqual([]);
    await run(600, [...alive, ...back]);
    expect(offline()).toEqual([dead]);
  });

  it("releases by itself when the hold ends (a scale-down, not an ingress fault): the silent servers go offline then", async () => {
    const { raw, clock, domains, offline, run } = await setup(40);
    const alive = domains.slice(30);
    await run(OFFLINE_MS + 100, alive);
    expect(raw.expiry.state).toBe("held");
    const heldAt = clock.now();
    await run(HOLD_MS - 1_000, alive);
    expect(raw.expiry.state).toBe("held");
    await run(1_500, alive);
    expect(raw.expiry.state).toBe("normal");
    expect(raw.expiry.stats.releases).toEqual({ heartbeats: 0, timeout: 1 });
    expect(clock.now() - heldAt).toBeLessThan(HOLD_MS + 1_000);
    expect(offline()).toEqual(domains.slice(0, 30));
    // Released transitions are no new mass expiry: nothing is held again.
    await run(2_000, alive);
    expect(raw.expiry.state).toBe("normal");
    expect(raw.expiry.stats.holds).toBe(1);
  });

  it("at start-up holds the deadlines that passed during a whole-cluster outage when above the threshold", async () => {
    const clock = new ManualClock();
    const directory = new FakeDirectory();
    const published: RegistryEvent[] = [];
    const settings: ActorSettings = {
      registrarId: "local", offlineAfterMs: OFFLINE_MS, tokenTtlDays: 365, tokenMaxAgeDays: 730, massExpiry: { ratio: 0.2, min: 5, holdMs: HOLD_MS },
    };
    for (let i = 0; i < 20; i++) {
      const r = new ServerRecord(`s${i}.example.com`, "local");
      r.lastSeenMs = T0 - (i < 10 ? 60_000 : 100); // half of them overdue
      directory.add(r);
    }
    const actors = new ServerActors(settings, directory, new FakeStore(), { publish: (e) => void published.push(e) }, { markDirty() {} }, clock, () => {});
    actors.start();
    expect(actors.expiry.state).toBe("held");
    expect(actors.expiry.heldCount).toBe(10);
    expect([...directory.map.values()].every((r) => r.status === "online")).toBe(true);
    clock.advance(HOLD_MS + 500);
    await settle();
    await vi.waitFor(() => expect([...directory.map.values()].filter((r) => r.status === "offline").length).toBe(20));
    expect(actors.expiry.stats.releases.timeout).toBe(1);
  });

  it("at start-up turns a few overdue servers offline at once (below the threshold)", async () => {
    const clock = new ManualClock();
    const directory = new FakeDirectory();
    const settings: ActorSettings = {
      registrarId: "local", offlineAfterMs: OFFLINE_MS, tokenTtlDays: 365, tokenMaxAgeDays: 730, massExpiry: { ratio: 0.2, min: 5, holdMs: HOLD_MS },
    };
    for (let i = 0; i < 40; i++) {
      const r = new ServerRecord(`s${i}.example.com`, "local");
      r.lastSeenMs = T0 - (i < 3 ? 60_000 : 100);
      directory.add(r);
    }
    const actors = new ServerActors(settings, directory, new FakeStore(), { publish() {} }, { markDirty() {} }, clock, () => {});
    actors.start();
    expect(actors.expiry.state).toBe("normal");
    expect([...directory.map.values()].filter((r) => r.status === "offline").map((r) => r.domain)).toEqual(["s0.example.com", "s1.example.com", "s2.example.com"]);
  });
});
