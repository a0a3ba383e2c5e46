// Peers and trust (contract §8.6, issue 9; security review H4): a peer's `verified` is not proof, a mirrored record
// never takes a local domain unless its own document proves it here, and one origin cannot fill this registrar.
import type { NatsConnection } from "@nats-io/transport-node";
import type { RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connect } from "../support/db.js";
import { metric, natsClient, publishJson, startPeers, type TestPeer } from "../support/federation.js";
import { api, newServer } from "../support/http.js";
import { startNats, type NatsServer } from "../support/nats-server.js";
import { publish, verifiedServer } from "../support/trust.js";
import { DocumentServer } from "../support/zent-docs.js";

const A = "reg.a.trust";
const B = "reg.b.trust";
const EVIL = "reg.evil.trust"; // a configured peer of B, played by the test with a bare NATS client
const EVIL_CHANGES = "zent.fed.reg_evil_trust.changes";
const EVIL_CHALLENGE = "E".repeat(43);

let serial = 0;
function evilChange(domain: string, overrides: Record<string, unknown> = {}, server: Record<string, unknown> = {}) {
  const at = new Date().toISOString();
  return {
    domain, origin: EVIL, version: 5000 + serial++, at, deleted: false, challenge: EVIL_CHALLENGE,
    server: {
      domain, name: `Evil ${domain}`, description: null, icon: null, api_url: `https://${domain}/api`, ws_url: null, voice_url: "https://voice.evil.example/",
      voice_provider: null, cdn_url: "https://cdn.evil.example/", protocols: [], capabilities: [], version: null, user_count: 9999, channel_count: 1,
      verified: true, status: "online", last_seen: at, created_at: "2000-01-01T00:00:00.000Z", rating: { average: null, count: 0 }, origin: EVIL, ...server,
    },
    ...overrides,
  };
}

describe("peers and trust", () => {
  let nats: NatsServer;
  let docs: DocumentServer;
  let a: TestPeer;
  let b: TestPeer;
  let evil: NatsConnection;

  beforeAll(async () => {
    nats = await startNats();
    docs = await DocumentServer.start();
    const trust = { WELL_KNOWN_URL: docs.urlTemplate, ALLOW_PRIVATE_FETCH: "true", RATE_LIMIT_RECOVERY: "off", VERIFY_RECHECK_S: "0.5" };
    [a, b] = await startPeers([
      { id: A, peers: [B], natsUrl: nats.url, env: trust },
      { id: B, peers: [A, EVIL], natsUrl: nats.url, env: { ...trust, FED_MAX_RECORDS_PER_ORIGIN: "3" } },
    ]);
    evil = await natsClient(nats.url);
  }, 60_000);

  afterAll(async () => {
    await evil?.close();
    await Promise.all([a?.drop(), b?.drop()]);
    await nats?.cleanup();
    await docs?.close();
  });

  const at = (url: string, domain: string) => api(url).get(`/v1/servers/${domain}`);

  it("counts a mirrored record as verified only after fetching its document itself, with the challenge under the origin", async () => {
    const s = await verifiedServer(a.url, docs, A);
    const db = await connect(b.dbUrl);
    try {
      // B's own check is due at once, polled every 250 ms and retried within VERIFY_RECHECK_S after a failed fetch
      // (5 s fetch timeout): seconds alone, longer on a loaded machine. A miss says what B's check last saw.
      await vi.waitFor(async () => expect((await at(b.url, s.domain)).body.server).toMatchObject({ origin: A, verified: true }), { timeout: 20_000, interval: 20 }).catch(async (err) => {
        const [checks] = await db.query<RowDataPacket[]>("SELECT failures, last_reason, next_check_at FROM trust_checks WHERE domain = ?", [s.domain]);
        throw new Error(`${(err as Error).message}\nB's trust_checks row: ${JSON.stringify(checks)}`);
      });
      const [rows] = await db.query<RowDataPacket[]>("SELECT challenge, verified_at FROM mirrored_servers WHERE domain = ?", [s.domain]);
      expect(rows).toEqual([{ challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43,}$/), verified_at: expect.any(Date) }]);
      const [audit] = await db.query<RowDataPacket[]>("SELECT action FROM audit_log WHERE domain = ? AND action = 'federation.verify'", [s.domain]);
      expect(audit).toHaveLength(1);
    } finally {
      await db.end();
    }
    // B fetched the document itself.
    expect(docs.requests.filter((d) => d === s.domain).length).toBeGreaterThanOrEqual(2);
    // B serves the keys it fetched, signed with its own key.
    const keys = await api(b.url).get(`/v1/servers/${s.domain}/keys`);
    expect(keys.status).toBe(200);
    expect(keys.headers.get("zent-signature")).toMatch(/^reg\.b\.trust;/);
  });

  it("does not take a peer's word: a record that says verified: true, without a challenge to check, is unverified here", async () => {
    publishJson(evil, EVIL_CHANGES, { v: 1, from: EVIL, pub: "evil", n: ++serial, changes: [evilChange(`word${serial}.evil.example`, { challenge: undefined })] });
    const word = `word${serial - 1}.evil.example`;
    await vi.waitFor(async () => expect((await at(b.url, word)).body.server).toMatchObject({ origin: EVIL, verified: false, verified_at: null }), { timeout: 3000, interval: 20 });
  });

  it("keeps a local record against a peer's copy with verified: true and a backdated created_at, until the document proves the peer's", async () => {
    const local = newServer();
    const reg = await api(b.url).post("/v1/servers", local);
    expect(reg.status).toBe(201);
    publishJson(evil, EVIL_CHANGES, { v: 1, from: EVIL, pub: "evil", n: ++serial, changes: [evilChange(local.domain)] });
    // The forged copy arrives (it is kept aside: already held records of this origin count towards the quota of 3,
    // so this test runs before the flood) but the local record stays listed and writable.
    const db = await connect(b.dbUrl);
    try {
      await vi.waitFor(async () => {
        const [rows] = await db.query<RowDataPacket[]>("SELECT verified_at FROM mirrored_servers WHERE domain = ? AND origin = ?", [local.domain, EVIL]);
        expect(rows).toHaveLength(1);
      }, { timeout: 3000, interval: 20 });
    } finally {
      await db.end();
    }
    expect((await at(b.url, local.domain)).body.server).toMatchObject({ origin: B, name: local.name, verified: false });
    expect((await api(b.url).put(`/v1/servers/${local.domain}`, { name: "still mine" }, { token: reg.body.token })).status).toBe(200);
    expect((await api(b.url).post(`/v1/servers/${local.domain}/heartbeat`, undefined, { token: reg.body.token })).status).toBe(200);
    // The domain's own document names the peer's challenge: the peer's record is the domain's, and now wins here.
    await publish(docs, local.domain, { [EVIL]: EVIL_CHALLENGE });
    await vi.waitFor(async () => expect((await at(b.url, local.domain)).body.server).toMatchObject({ origin: EVIL, verified: true }), { timeout: 5000, interval: 50 });
    const write = await api(b.url).put(`/v1/servers/${local.domain}`, { name: "mine?" }, { token: reg.body.token });
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe("not_owner");
    // Every write to the mirrored record is a 403, with no token at all too (contract §8.6).
    for (const path of ["", "/heartbeat", "/token", "/verification", "/verification/check", "/recovery", "/recovery/complete", "/rate"]) {
      const method = path === "" ? "PUT" : "POST";
      const r = await api(b.url).call(method, `/v1/servers/${local.domain}${path}`, { body: path === "/rate" ? { rating: 1, assertion: "x.y.z" } : path === "" ? { name: "x" } : undefined });
      expect(r.status, `${method} ${path}`).toBe(403);
      expect(r.body.error.code).toBe("not_owner");
    }
  });

  it("caps what one origin may fill (FED_MAX_RECORDS_PER_ORIGIN), counts and keeps updating the records it holds", async () => {
    const before = await metric(b.url, "registrar_fed_dropped_total", { reason: "over_quota" });
    const held = async () => {
      const db = await connect(b.dbUrl);
      try {
        const [[r]] = await db.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM mirrored_servers WHERE origin = ? AND deleted = 0", [EVIL]);
        return Number(r.n);
      } finally {
        await db.end();
      }
    };
    const flood = Array.from({ length: 6 }, (_, i) => evilChange(`flood${i}-${serial}.evil.example`));
    publishJson(evil, EVIL_CHANGES, { v: 1, from: EVIL, pub: "evil", n: ++serial, changes: flood });
    await vi.waitFor(async () => expect(await metric(b.url, "registrar_fed_dropped_total", { reason: "over_quota" })).toBeGreaterThan(before), { timeout: 3000, interval: 20 });
    expect(await held()).toBe(3);
    // An update of a record already held is still applied.
    const word = await api(b.url).get(`/v1/servers?origin=${EVIL}&limit=100`);
    const kept = word.body.servers[0].domain as string;
    publishJson(evil, EVIL_CHANGES, { v: 1, from: EVIL, pub: "evil", n: ++serial, changes: [evilChange(kept, {}, { name: "renamed by its origin" })] });
    await vi.waitFor(async () => expect((await at(b.url, kept)).body.server.name).toBe("renamed by its origin"), { timeout: 3000, interval: 20 });
    expect(await held()).toBe(3);
  });
});
