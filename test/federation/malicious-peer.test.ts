// Issue 5: a peer that sends wrong origins, bad schemas, 1 MiB payloads, floods or garbage replies: every message is
// bounded and validated, dropped and counted, and nothing at the receiving registrar is corrupted or slowed down.
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { api, newServer } from "../support/http.js";
import { startNats, type NatsServer } from "../support/nats-server.js";
import { metric, natsClient, publishJson, rootDigest, startPeer, type TestPeer } from "../support/federation.js";
import { letTimePass } from "../support/wait.js";

const A = "reg.a.mal";
const B = "reg.b.mal"; // played by the test: a bare NATS client
const changesOfB = "zent.fed.reg_b_mal.changes";
const relayOfBToA = "zent.fed.reg_b_mal.relay.reg_a_mal";
const MAX_CHANGES_PER_S = 500;

let serial = 0;
function record(domain: string, origin: string, overrides: Record<string, unknown> = {}) {
  const at = new Date().toISOString();
  return {
    domain, name: `Peer ${domain}`, description: null, icon: null, api_url: `https://${domain}/api`, ws_url: null, voice_url: null,
    voice_provider: null, cdn_url: null, protocols: [], capabilities: [], version: null, user_count: 3, channel_count: 1,
    verified: false, status: "online", last_seen: at, created_at: at, rating: { average: null, count: 0 }, origin, ...overrides,
  };
}
function change(domain: string, origin: string, overrides: Record<string, unknown> = {}, server: Record<string, unknown> = {}) {
  return { domain, origin, version: 1000 + serial++, at: new Date().toISOString(), deleted: false, server: record(domain, origin, server), ...overrides };
}
function message(changes: unknown[], overrides: Record<string, unknown> = {}) {
  return { v: 1, from: B, pub: "evil", n: ++serial, changes, ...overrides };
}

describe("a registrar peered with a malicious registrar", () => {
  let nats: NatsServer;
  let a: TestPeer;
  let evil: NatsConnection;
  let own: { domain: string; token: string; json: unknown };
  const dropped = (reason: string) => metric(a.url, "registrar_fed_dropped_total", { reason });

  beforeAll(async () => {
    nats = await startNats();
    a = await startPeer({ id: A, peers: [B], natsUrl: nats.url, env: { FED_MAX_CHANGES_PER_S: String(MAX_CHANGES_PER_S) } });
    evil = await natsClient(nats.url);
    const srv = newServer();
    const reg = await api(a.url).post("/v1/servers", srv);
    own = { domain: srv.domain, token: reg.body.token, json: reg.body.server };
  }, 60_000);

  afterAll(async () => {
    await evil?.close();
    await a?.drop();
    await nats?.cleanup();
  });

  /** The registrar's own data is exactly as before, and it answers quickly. */
  async function intact(): Promise<void> {
    const started = Date.now();
    const r = await api(a.url).get(`/v1/servers/${own.domain}`);
    expect(r.body.server).toEqual(own.json);
    expect((await api(a.url).get("/v1/health")).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(500);
  }

  it("applies a well-formed change of B's own record (the channel works)", async () => {
    const c = change(`ok${serial}.evil.example`, B);
    publishJson(evil, changesOfB, message([c]));
    await vi.waitFor(async () => expect((await api(a.url).get(`/v1/servers/${c.domain}`)).body.server?.origin).toBe(B), { timeout: 2000, interval: 20 });
  });

  it("refuses records of other origins on B's subjects: a third registrar's, A's own, and a relay that loops", async () => {
    const third = change(`third${serial}.evil.example`, "reg.c.mal");
    const hijack = change(own.domain, A, {}, { name: "Hijacked" });
    publishJson(evil, changesOfB, message([third, hijack]));
    // A relay whose path is not B's, and one that already went through A.
    publishJson(evil, relayOfBToA, message([{ ...change(`r1${serial}.evil.example`, "reg.c.mal"), path: ["reg.c.mal"] }], { to: A }));
    publishJson(evil, relayOfBToA, message([{ ...change(`r2${serial}.evil.example`, "reg.c.mal"), path: ["reg.c.mal", A, B] }], { to: A }));
    // A message on B's subject claiming to come from someone else.
    publishJson(evil, changesOfB, message([change(`s${serial}.evil.example`, B)], { from: "reg.c.mal" }));
    await vi.waitFor(async () => {
      expect(await dropped("wrong_origin")).toBe(1);
      expect(await dropped("bad_path")).toBe(1);
      expect(await dropped("loop")).toBe(1);
      expect(await dropped("wrong_sender")).toBe(1);
      expect(await metric(a.url, "registrar_fed_ignored_total", { reason: "own_origin" })).toBe(1);
    }, { timeout: 2000, interval: 20 });
    expect((await api(a.url).get(`/v1/servers/${third.domain}`)).status).toBe(404);
    await intact();
  });

  it("drops malformed messages: not JSON, bad fields, unknown fields, another wire version, too many changes", async () => {
    const bad: unknown[] = [
      "{not json",
      message([change("UPPER.evil.example", B)]),
      message([change(`x${serial}.evil.example`, B, {}, { name: "n".repeat(101) })]),
      message([change(`x${serial}.evil.example`, B, {}, { api_url: "javascript:alert(1)" })]),
      message([change(`x${serial}.evil.example`, B, {}, { status: "hacked" })]),
      message([change(`x${serial}.evil.example`, B, { version: -1 })]),
      message([change(`x${serial}.evil.example`, B, {}, { domain: "other.evil.example" })]),
      message([change(`x${serial}.evil.example`, B, { deleted: true })]),
      message([change(`x${serial}.evil.example`, B, { extra: 1 })]),
      message([change(`x${serial}.evil.example`, B)], { v: 2 }),
      // Tombstones are small: 2001 of them fit in the byte bound, not in the count bound.
      message(Array.from({ length: 2001 }, (_, i) => ({ domain: `many${i}.evil.example`, origin: B, version: 5000 + i, at: new Date().toISOString(), deleted: true }))),
    ];
    for (const m of bad) publishJson(evil, changesOfB, m);
    await vi.waitFor(async () => {
      expect(await dropped("not_json")).toBe(1);
      expect(await dropped("invalid")).toBe(bad.length - 1);
    }, { timeout: 3000, interval: 20 });
    expect((await api(a.url).get("/v1/servers?q=evil.example&limit=100")).body.total).toBe(1);
    await intact();
  });

  it("drops a 1 MiB message before parsing it", async () => {
    const empty = JSON.stringify(message([change(`big${serial}.evil.example`, B, {}, { description: "" })]));
    const payload = empty.replace('"description":""', `"description":"${"x".repeat(1024 * 1024 - Buffer.byteLength(empty))}"`);
    expect(Buffer.byteLength(payload)).toBe(1024 * 1024);
    evil.publish(changesOfB, new TextEncoder().encode(payload));
    await vi.waitFor(async () => expect(await dropped("too_large")).toBe(1), { timeout: 3000, interval: 20 });
    await intact();
  });

  it("cuts a flood off at FED_MAX_CHANGES_PER_S and stays responsive", async () => {
    const before = await dropped("rate_limited");
    const flood = new TextEncoder().encode(JSON.stringify(message([change(`flood.evil.example`, "reg.c.mal")])));
    for (let i = 0; i < 20_000; i++) {
      evil.publish(changesOfB, flood);
      if (i % 2000 === 0) await intact();
    }
    await evil.flush();
    await vi.waitFor(async () => expect(await dropped("rate_limited")).toBeGreaterThan(before + 10_000), { timeout: 10_000, interval: 100 });
    await intact();
    // Budget refills: a legitimate change gets through again a second later.
    await letTimePass(1200);
    const c = change(`after${serial}.evil.example`, B);
    publishJson(evil, changesOfB, message([c]));
    await vi.waitFor(async () => expect((await api(a.url).get(`/v1/servers/${c.domain}`)).status).toBe(200), { timeout: 3000, interval: 20 });
  });

  it("fails an anti-entropy round against garbage replies without applying anything, and answers garbage requests with an error", async () => {
    const sub = evil.subscribe("zent.fed.reg_b_mal.sync.>", { callback: (_err, m) => void m.respond(new TextEncoder().encode('{"v":1,"root":"zz"}')) });
    await evil.flush();
    const failed = await metric(a.url, "registrar_fed_sync_rounds_total", { result: "failed" });
    await vi.waitFor(async () => expect(await metric(a.url, "registrar_fed_sync_rounds_total", { result: "failed" })).toBeGreaterThan(failed), { timeout: 5000, interval: 50 });
    sub.unsubscribe();

    const reply = await evil.request("zent.fed.reg_a_mal.sync.records", new TextEncoder().encode('{"v":1,"keys":"all"}'), { timeout: 2000 });
    expect(JSON.parse(new TextDecoder().decode(reply.data))).toEqual({ v: 1, error: "invalid" });
    expect(await rootDigest(evil, A)).toMatch(/^[0-9a-f]{16}$/);
    await intact();
  });
});
