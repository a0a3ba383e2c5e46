// Unit tests for ServerActors and StatusSync with in-memory fakes of the store, event and liveness ports and a
// hand-cranked clock: ordering per domain, offline timers, status persistence under store failure, token expiry.
import { describe, expect, it, vi } from "vitest";
import type { Initiator, RegistryEvent } from "../../src/core/events.js";
import type { EventSink, LivenessSink } from "../../actors/ports.js";
import { ServerActors, type ActorSettings } from "../../actors/server-actors.js";
import { actorCalls } from "../support/actor-calls.js";
import { FakeDirectory, FakeStore, ManualClock, T0 } from "../support/actor-fakes.js";
import { ServerRecord, type ServerFields } from "../../src/core/record.js";
import { DomainTakenError, TokenExpiredError, UnauthorizedError } from "../../src/core/errors.js";
import { MASS_EXPIRY_DEFAULTS } from "../../actors/mass-expiry.js";

const DAY_MS = 86_400_000;

function setup(overrides: Partial<ActorSettings> = {}) {
  const settings: ActorSettings = { registrarId: "local", offlineAfterMs: 1_000, tokenTtlDays: 365, tokenMaxAgeDays: 730, massExpiry: MASS_EXPIRY_DEFAULTS, ...overrides };
  const clock = new ManualClock();
  const directory = new FakeDirectory();
  const store = new FakeStore();
  const published: RegistryEvent[] = [];
  const events: EventSink = { publish: (ev) => void published.push(ev) };
  const dirty: string[] = [];
  const liveness: LivenessSink = { markDirty: (r) => void dirty.push(r.domain) };
  const storeErrors: unknown[] = [];
  const raw = new ServerActors(settings, directory, store, events, liveness, clock, (e) => void storeErrors.push(e));
  raw.start();
  // The edge's part of each call (token generated and hashed there) is done by actorCalls.
  const actors = Object.assign(actorCalls(raw), { statusSync: raw.statusSync, wheel: raw.wheel });
  const statusEvents = (domain?: string) => published.filter((e) => e.type === "server.status" && (!domain || e.domain === domain));
  return { settings, clock, directory, store, published, statusEvents, dirty, storeErrors, actors };
}

const by: Initiator = { kind: "ip", id: "127.0.0.1" };
const fields = (domain: string): ServerFields => ({ name: `Server ${domain}`, api_url: `https://${domain}/api` });

/** Lets every queued microtask and mailbox step run (no timers involved). */
async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("ServerActors: one mailbox per domain", () => {
  it("runs a heartbeat queued behind an update in flight only after that update finished", async () => {
    const { actors, store, directory } = setup();
    const { token } = await actors.register("a.example.com", fields("a.example.com"), by);
    const gate = deferred();
    store.updateGate = gate.promise;
    const order: string[] = [];
    const update = actors.update("a.example.com", token, { name: "Renamed" }, by).then(() => order.push("update"));
    const heartbeat = actors.heartbeat("a.example.com", token, { user_count: 9 }).then(() => order.push("heartbeat"));
    await settle();
    expect(order).toEqual([]);
    expect(directory.get("a.example.com")!.userCount).toBe(0);
    gate.resolve();
    await Promise.all([update, heartbeat]);
    expect(order).toEqual(["update", "heartbeat"]);
    expect(directory.get("a.example.com")).toMatchObject({ name: "Renamed", userCount: 9 });
  });

  it("does not hold up another domain while one domain's update is in flight", async () => {
    const { actors, store } = setup();
    const a = await actors.register("a.example.com", fields("a.example.com"), by);
    const b = await actors.register("b.example.com", fields("b.example.com"), by);
    const gate = deferred();
    store.updateGate = gate.promise;
    let updated = false;
    const update = actors.update("a.example.com", a.token, { name: "Slow" }, by).then(() => (updated = true));
    const hb = await actors.heartbeat("b.example.com", b.token, { user_count: 3 });
    expect(hb.status).toBe("online");
    expect(updated).toBe(false);
    gate.resolve();
    await update;
  });

  it("leaves memory untouched when the store refuses an update", async () => {
    const { actors, store, directory } = setup();
    const { token } = await actors.register("a.example.com", fields("a.example.com"), by);
    store.down = true;
    await expect(actors.update("a.example.com", token, { name: "Lost" }, by)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(directory.get("a.example.com")!.name).toBe("Server a.example.com");
    expect(directory.get("a.example.com")!.recordVersion).toBe(1);
  });

  it("refuses a second registration of the same domain and a wrong token", async () => {
    const { actors } = setup();
    const { token } = await actors.register("a.example.com", fields("a.example.com"), by);
    await expect(actors.register("a.example.com", fields("a.example.com"), by)).rejects.toBeInstanceOf(DomainTakenError);
    await expect(actors.heartbeat("a.example.com", token.replace(/^./, (c) => (c === "0" ? "1" : "0")), {})).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(actors.heartbeat("b.example.com", token, {})).rejects.toBeInstanceOf(UnauthorizedError);
  });
});

describe("ServerActors: offline timer and StatusSync", () => {
  it("turns a server offline at its deadline, persisting and publishing the transition exactly once", async () => {
    const { actors, clock, directory, store, statusEvents } = setup({ offlineAfterMs: 1_000 });
    await actors.register("a.example.com", fields("a.example.com"), by);
    clock.advance(975);
    await settle();
    expect(directory.get("a.example.com")!.status).toBe("online");
    expect(store.persistCalls).toEqual([]);
    clock.advance(25);
    await settle();
    expect(directory.get("a.example.com")!.status).toBe("offline");
    await vi.waitFor(() => expect(statusEvents()).toHaveLength(1));
    expect(store.persistCalls).toEqual([[expect.objectContaining({ domain: "a.example.com", status: "offline", lastSeenMs: T0 })]]);
    expect(store.rows.get("a.example.com")!.status).toBe("offline");
    clock.advance(10_000);
    await settle();
    expect(store.persistCalls).toHaveLength(1);
    expect(statusEvents()).toHaveLength(1);
    expect(actors.statusSync.backlog).toBe(0);
  });

  it("keeps a server online while heartbeats keep pushing its deadline later", async () => {
    const { actors, clock, directory, store, dirty } = setup({ offlineAfterMs: 1_000 });
    const { token } = await actors.register("a.example.com", fields("a.example.com"), by);
    for (let i = 0; i < 10; i++) {
      clock.advance(900);
      await settle();
      await actors.heartbeat("a.example.com", token, { user_count: i });
    }
    expect(directory.get("a.example.com")).toMatchObject({ status: "online", userCount: 9, lastSeenMs: T0 + 9_000 });
    expect(store.persistCalls).toEqual([]);
    expect(dirty).toHaveLength(10);
    clock.advance(999);
    await settle();
    expect(directory.get("a.example.com")!.status).toBe("online");
    clock.advance(1);
    await settle();
    expect(directory.get("a.example.com")!.status).toBe("offline");
  });

  it("brings an offline server back online on its next heartbeat with a second server.status event", async () => {
    const { actors, clock, directory, store, statusEvents } = setup({ offlineAfterMs: 1_000 });
    const { token } = await actors.register("a.example.com", fields("a.example.com"), by);
    clock.advance(1_000);
    await vi.waitFor(() => expect(statusEvents()).toHaveLength(1));
    const hb = await actors.heartbeat("a.example.com", token, {});
    expect(hb.status).toBe("online");
    expect(directory.get("a.example.com")!.status).toBe("online");
    await vi.waitFor(() => expect(statusEvents().map((e) => e.data.status)).toEqual(["offline", "online"]));
    expect(store.rows.get("a.example.com")).toMatchObject({ status: "online", lastSeenMs: T0 + 1_000 });
  });

  it("retries online→offline→online→offline while the store fails and persists the final state once it is back", async () => {
    const { actors, clock, directory, store, statusEvents, storeErrors } = setup({ offlineAfterMs: 1_000 });
    const { token } = await actors.register("a.example.com", fields("a.example.com"), by);
    store.down = true;
    clock.advance(1_000); // offline (persist fails, retried)
    await vi.waitFor(() => expect(storeErrors.length).toBeGreaterThan(0));
    await actors.heartbeat("a.example.com", token, { user_count: 1 }); // back online, still unpersisted
    clock.advance(500);
    const last = await actors.heartbeat("a.example.com", token, { user_count: 2 });
    clock.advance(1_000); // offline again
    await settle();
    expect(directory.get("a.example.com")!.status).toBe("offline");
    expect(store.rows.get("a.example.com")!.status).toBe("online");
    expect(statusEvents()).toEqual([]);
    store.down = false;
    await vi.waitFor(() => expect(store.rows.get("a.example.com")!.status).toBe("offline"), { timeout: 5_000 });
    expect(store.rows.get("a.example.com")!.lastSeenMs).toBe(last.lastSeenMs);
    expect(store.persistCalls.length).toBeGreaterThan(1);
    // Transitions that cancelled out while the store was away are coalesced: the feed sees the net change once.
    expect(statusEvents().map((e) => e.data.status)).toEqual(["offline"]);
    expect(actors.statusSync.backlog).toBe(0);
  });

  it("persists nothing for an offline→online flap that ends where the store already is", async () => {
    const { actors, clock, directory, store, statusEvents } = setup({ offlineAfterMs: 1_000 });
    const { token } = await actors.register("a.example.com", fields("a.example.com"), by);
    store.down = true;
    clock.advance(1_000);
    await settle();
    await actors.heartbeat("a.example.com", token, {});
    store.down = false;
    await vi.waitFor(() => expect(actors.statusSync.backlog).toBe(0), { timeout: 5_000 });
    await settle();
    expect(directory.get("a.example.com")!.status).toBe("online");
    expect(store.rows.get("a.example.com")!.status).toBe("online");
    expect(statusEvents()).toEqual([]);
  });

  it("at start turns servers whose deadline passed while no node ran offline and keeps the remaining time of the others", async () => {
    const settings: ActorSettings = { registrarId: "local", offlineAfterMs: 10_000, tokenTtlDays: 365, tokenMaxAgeDays: 730, massExpiry: MASS_EXPIRY_DEFAULTS };
    const clock = new ManualClock();
    const directory = new FakeDirectory();
    const store = new FakeStore();
    const published: RegistryEvent[] = [];
    for (const [domain, ageMs] of [["overdue.example.com", 15_000], ["fresh.example.com", 4_000], ["mirror.example.net", 60_000]] as const) {
      const r = new ServerRecord(domain, domain.endsWith(".net") ? "peer.example.net" : "local");
      r.lastSeenMs = T0 - ageMs;
      directory.add(r);
      store.rows.set(domain, { status: "online", lastSeenMs: r.lastSeenMs, name: "", tokenHash: null });
    }
    const actors = new ServerActors(settings, directory, store, { publish: (e) => void published.push(e) }, { markDirty() {} }, clock, () => {});
    actors.start();
    expect(directory.get("overdue.example.com")!.status).toBe("offline");
    expect(directory.get("fresh.example.com")!.status).toBe("online");
    // A mirrored record's timer belongs to its own registrar.
    expect(directory.get("mirror.example.net")!.status).toBe("online");
    await vi.waitFor(() => expect(published.map((e) => e.domain)).toEqual(["overdue.example.com"]));
    clock.advance(5_975); // 1 tick before last_seen + offlineAfterMs
    await settle();
    expect(directory.get("fresh.example.com")!.status).toBe("online");
    clock.advance(25);
    await settle();
    expect(directory.get("fresh.example.com")!.status).toBe("offline");
  });

  it("forgets a removed server: no timer fires and no status is persisted for it", async () => {
    const { actors, clock, store, directory, published } = setup({ offlineAfterMs: 1_000 });
    const { token } = await actors.register("a.example.com", fields("a.example.com"), by);
    await actors.remove("a.example.com", token, by);
    expect(directory.get("a.example.com")).toBeUndefined();
    clock.advance(5_000);
    await settle();
    expect(store.persistCalls).toEqual([]);
    expect(published.map((e) => e.type)).toEqual(["server.registered", "server.removed"]);
    expect(actors.wheel.size).toBe(0);
  });
});

describe("ServerActors: token expiry", () => {
  it("expires a token tokenTtlDays after the last authenticated heartbeat or update (sliding)", async () => {
    const { actors, clock } = setup({ tokenTtlDays: 1, tokenMaxAgeDays: 30, offlineAfterMs: 100 * DAY_MS });
    const a = await actors.register("a.example.com", fields("a.example.com"), by);
    expect(a.tokenExpiresMs).toBe(T0 + DAY_MS);
    clock.t = T0 + 0.9 * DAY_MS;
    expect((await actors.heartbeat("a.example.com", a.token, {})).tokenExpiresMs).toBe(T0 + 1.9 * DAY_MS);
    clock.t = T0 + 1.8 * DAY_MS;
    await actors.update("a.example.com", a.token, { name: "Still mine" }, by);
    clock.t = T0 + 2.8 * DAY_MS - 1;
    await expect(actors.heartbeat("a.example.com", a.token, {})).resolves.toMatchObject({ status: "online" });
    // Idle for exactly one TTL.
    clock.t = T0 + 3.8 * DAY_MS - 1;
    await expect(actors.heartbeat("a.example.com", a.token, {})).rejects.toBeInstanceOf(TokenExpiredError);

    const b = await actors.register("b.example.com", fields("b.example.com"), by);
    clock.t += DAY_MS;
    await expect(actors.heartbeat("b.example.com", b.token, {})).rejects.toBeInstanceOf(TokenExpiredError);
  });

  it("expires a token tokenMaxAgeDays after issue however active the server is (absolute cap)", async () => {
    const { actors, clock } = setup({ tokenTtlDays: 1, tokenMaxAgeDays: 2.5, offlineAfterMs: 100 * DAY_MS });
    const a = await actors.register("a.example.com", fields("a.example.com"), by);
    for (const d of [0.5, 1, 1.5, 2]) {
      clock.t = T0 + d * DAY_MS;
      const hb = await actors.heartbeat("a.example.com", a.token, {});
      expect(hb.tokenExpiresMs).toBe(Math.min(clock.t + DAY_MS, T0 + 2.5 * DAY_MS));
    }
    clock.t = T0 + 2.5 * DAY_MS - 1;
    await expect(actors.heartbeat("a.example.com", a.token, {})).resolves.toMatchObject({ tokenExpiresMs: T0 + 2.5 * DAY_MS });
    clock.t = T0 + 2.5 * DAY_MS;
    await expect(actors.heartbeat("a.example.com", a.token, {})).rejects.toBeInstanceOf(TokenExpiredError);
    await expect(actors.update("a.example.com", a.token, { name: "x" }, by)).rejects.toBeInstanceOf(TokenExpiredError);
  });

  it("rotation starts a new absolute age and the old token stops working at once", async () => {
    const { actors, clock } = setup({ tokenTtlDays: 1, tokenMaxAgeDays: 2, offlineAfterMs: 100 * DAY_MS });
    const a = await actors.register("a.example.com", fields("a.example.com"), by);
    clock.t = T0 + 0.9 * DAY_MS;
    await actors.heartbeat("a.example.com", a.token, {});
    clock.t = T0 + 1.8 * DAY_MS;
    const r = await actors.rotateToken("a.example.com", a.token, by);
    expect(r.token).not.toBe(a.token);
    expect(r.tokenExpiresMs).toBe(clock.t + DAY_MS);
    await expect(actors.heartbeat("a.example.com", a.token, {})).rejects.toBeInstanceOf(UnauthorizedError);
    clock.t = T0 + 2.5 * DAY_MS;
    await expect(actors.heartbeat("a.example.com", r.token, {})).resolves.toMatchObject({ status: "online" });
  });
});
