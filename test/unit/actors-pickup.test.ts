// ServerActors.pickUp (contract §7, the PHP import while the registrar runs): a record written to the store by another
// process is loaded with its token hash and taken over in its domain's mailbox, its timer running from last_seen.
import { describe, expect, it } from "vitest";
import type { RegistryEvent } from "../../src/core/events.js";
import { ServerActors, type ActorSettings } from "../../actors/server-actors.js";
import { FakeDirectory, FakeStore, ManualClock, T0 } from "../support/actor-fakes.js";
import { hashToken } from "../../src/core/tokens.js";
import { MASS_EXPIRY_DEFAULTS } from "../../actors/mass-expiry.js";

function setup() {
  const settings: ActorSettings = { registrarId: "local", offlineAfterMs: 1_000, tokenTtlDays: 365, tokenMaxAgeDays: 730, massExpiry: MASS_EXPIRY_DEFAULTS };
  const clock = new ManualClock();
  const directory = new FakeDirectory();
  const store = new FakeStore();
  const published: RegistryEvent[] = [];
  const actors = new ServerActors(settings, directory, store, { publish: (ev) => void published.push(ev) }, { markDirty: () => {} }, clock, () => {});
  actors.start();
  return { clock, directory, store, published, actors };
}

const TOKEN = "cd".repeat(32);
const HASH = hashToken(TOKEN).toString("hex");

describe("ServerActors.pickUp", () => {
  it("loads a record written elsewhere with its token hash; it then accepts heartbeats with that token", async () => {
    const { store, directory, actors } = setup();
    store.rows.set("imported.example.com", { status: "online", lastSeenMs: T0 - 200, name: "Imported", tokenHash: HASH });
    expect(await actors.pickUp("imported.example.com", 0)).toBe(true);
    expect(directory.get("imported.example.com")!.tokenHash).toBe(HASH);
    const reply = await actors.send({ type: "heartbeat", domain: "imported.example.com", tokenHash: HASH, stats: {} });
    expect(reply.status).toBe("online");
  });

  it("arms the offline timer from the stored last_seen, and turns a record whose deadline passed offline at once", async () => {
    const { store, directory, actors, clock, published } = setup();
    store.rows.set("recent.example.com", { status: "online", lastSeenMs: T0 - 400, name: "Recent", tokenHash: HASH });
    store.rows.set("stale.example.com", { status: "online", lastSeenMs: T0 - 5_000, name: "Stale", tokenHash: HASH });
    await actors.pickUp("recent.example.com", 0);
    await actors.pickUp("stale.example.com", 0);
    expect(directory.get("stale.example.com")!.status).toBe("offline");
    expect(directory.get("recent.example.com")!.status).toBe("online");
    clock.advance(575);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(directory.get("recent.example.com")!.status).toBe("online");
    // Its deadline: last_seen (T0 - 400) + OFFLINE_AFTER (1000).
    clock.advance(25);
    // The timer posts the transition into the domain's mailbox.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    await actors.statusSync.flush();
    expect(directory.get("recent.example.com")!.status).toBe("offline");
    expect(published.filter((e) => e.type === "server.status").map((e) => e.domain).sort()).toEqual(["recent.example.com", "stale.example.com"]);
  });

  it("fills in the token of a record known only from an event's public data", async () => {
    const { store, directory, actors } = setup();
    store.rows.set("public.example.com", { status: "online", lastSeenMs: T0, name: "Public", tokenHash: HASH });
    const [publicOnly] = await store.loadServers(["public.example.com"]);
    publicOnly.tokenHash = null;
    directory.add(publicOnly);
    await actors.pickUp("public.example.com", 0);
    expect(directory.get("public.example.com")).toBe(publicOnly);
    expect(publicOnly.tokenHash).toBe(HASH);
  });

  it("does not read the store for a record it already owns with its token, nor for one the store does not have", async () => {
    const { store, directory, actors } = setup();
    await actors.send({ type: "register", domain: "mine.example.com", fields: { name: "Mine", api_url: "https://mine.example.com/api" }, tokenHash: HASH, by: { kind: "ip", id: "127.0.0.1" } });
    store.down = true;
    expect(await actors.pickUp("mine.example.com", 0)).toBe(true);
    store.down = false;
    expect(await actors.pickUp("gone.example.com", 0)).toBe(false);
    expect(directory.get("gone.example.com")).toBeUndefined();
  });

  it("runs after a registration already queued for the domain, so the registration's record stays the one listed", async () => {
    const { directory, actors } = setup();
    const reg = actors.send({ type: "register", domain: "race.example.com", fields: { name: "Race", api_url: "https://race.example.com/api" }, tokenHash: HASH, by: { kind: "ip", id: "127.0.0.1" } });
    const pick = actors.pickUp("race.example.com", 0);
    await reg;
    const registered = directory.get("race.example.com");
    await pick;
    expect(directory.get("race.example.com")).toBe(registered);
  });
});
