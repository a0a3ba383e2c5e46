// Issue 3: NATS going away and coming back; a member of a 3-node NATS cluster dying.
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startCluster, waitForShards, type TestCluster } from "../support/cluster.js";
import { startNats, startNatsCluster, type NatsServer } from "../support/nats-server.js";
import { letTimePass } from "../support/wait.js";
import { natsClient } from "../support/federation.js";

const health = (u: string) => api(u).get("/v1/health");

describe("a registrar cluster whose NATS stops and restarts", () => {
  const dbUrl = freshDatabaseUrl("natsdown");
  let nats: NatsServer;
  let cluster: TestCluster;
  const urls = () => cluster.nodes.map((n) => n!.url);

  beforeAll(async () => {
    nats = await startNats();
    cluster = await startCluster(2, { DATABASE_URL: dbUrl, NATS_URL: nats.url, ALLOW_INSECURE_URLS: "true", RATE_LIMIT_REGISTER: "off", OFFLINE_AFTER_S: "4" });
    await waitForShards(urls());
  }, 60_000);

  afterAll(async () => {
    await cluster?.stopAll();
    await nats?.cleanup();
    await dropDatabase(dbUrl);
  });

  it("keeps serving reads and MySQL-backed writes while NATS is down, reports degraded, and converges after", async () => {
    const [a, b] = urls();
    const s1 = newServer();
    const r1 = await api(a).post("/v1/servers", s1);
    expect(r1.status).toBe(201);
    await expect.poll(() => api(b).get(`/v1/servers/${s1.domain}`).then((r) => r.status)).toBe(200);

    await nats.kill();
    await expect.poll(() => health(a).then((r) => r.body.checks.nats), { timeout: 10_000 }).toBe("down");
    const h = await health(a);
    expect(h.status).toBe(200);
    expect(h.body.status).toBe("degraded");

    // Reads from memory, writes through MySQL, heartbeats accepted: on either node.
    expect((await api(b).get("/v1/servers")).status).toBe(200);
    const s2 = newServer();
    const r2 = await api(b).post("/v1/servers", s2);
    expect(r2.status).toBe(201);
    const up = await api(a).put(`/v1/servers/${s1.domain}`, { name: "Renamed while NATS was down" }, { token: r1.body.token });
    expect(up.status).toBe(200);
    for (const u of [a, b]) {
      expect((await api(u).post(`/v1/servers/${s1.domain}/heartbeat`, { user_count: 3 }, { token: r1.body.token })).status).toBe(200);
      expect((await api(u).post(`/v1/servers/${s2.domain}/heartbeat`, {}, { token: r2.body.token })).status).toBe(200);
    }

    await nats.start();
    await expect.poll(() => Promise.all([a, b].map((u) => health(u).then((r) => r.body.status))), { timeout: 20_000 }).toEqual(["ok", "ok"]);
    await waitForShards([a, b]);
    // Both nodes converge on the same directory, including the writes each made alone.
    for (const u of [a, b]) {
      await expect.poll(() => api(u).get(`/v1/servers/${s2.domain}`).then((r) => r.status), { timeout: 5000 }).toBe(200);
      await expect.poll(() => api(u).get(`/v1/servers/${s1.domain}`).then((r) => r.body.server.name), { timeout: 5000 }).toBe("Renamed while NATS was down");
    }
    // Keep both servers heartbeating through the recovery: no offline, no duplicate transition.
    for (let i = 0; i < 3; i++) {
      await api(a).post(`/v1/servers/${s1.domain}/heartbeat`, {}, { token: r1.body.token });
      await api(b).post(`/v1/servers/${s2.domain}/heartbeat`, {}, { token: r2.body.token });
      await letTimePass(1000); // one heartbeat a second
    }
    const db = await connect(dbUrl);
    const [rows] = await db.query<any[]>("SELECT domain FROM events WHERE type = 'server.status'");
    await db.end();
    expect(rows).toEqual([]);
  }, 90_000);
});

describe("a registrar cluster on a 3-node NATS cluster", () => {
  const dbUrl = freshDatabaseUrl("natscl");
  let natsNodes: NatsServer[];
  let cluster: TestCluster;

  beforeAll(async () => {
    natsNodes = await startNatsCluster(3);
    // The JetStream meta group elects a leader before the registrars create their KV bucket: JetStream answers.
    const nc = await natsClient(natsNodes[0].url);
    try {
      await vi.waitFor(async () => (await jetstreamManager(nc, { timeout: 2000 })).getAccountInfo(), { timeout: 60_000, interval: 250 });
    } finally {
      await nc.close();
    }
    cluster = await startCluster(2, { DATABASE_URL: dbUrl, NATS_URL: natsNodes.map((n) => n.url).join(","), ALLOW_INSECURE_URLS: "true", RATE_LIMIT_REGISTER: "off", OFFLINE_AFTER_S: "5" });
    await waitForShards(cluster.nodes.map((n) => n!.url));
  }, 90_000);

  afterAll(async () => {
    await cluster?.stopAll();
    for (const n of natsNodes ?? []) await n.cleanup();
    await dropDatabase(dbUrl);
  });

  it("changes nothing visible when one NATS server dies", async () => {
    const [a, b] = cluster.nodes.map((n) => n!.url);
    const servers = [];
    for (let i = 0; i < 6; i++) {
      const body = newServer();
      const r = await api(i % 2 ? a : b).post("/v1/servers", body);
      expect(r.status).toBe(201);
      servers.push({ domain: body.domain, token: r.body.token });
    }
    await natsNodes[0].kill();
    const deadline = Date.now() + 8000;
    let i = 0;
    while (Date.now() < deadline) {
      for (const s of servers) {
        const r = await api(i++ % 2 ? a : b).post(`/v1/servers/${s.domain}/heartbeat`, {}, { token: s.token });
        if (r.status !== 200) console.log(cluster.nodes.map((n) => n!.output.slice(-15).join("\n")).join("\n-----\n"));
        expect(r.status).toBe(200);
      }
      await letTimePass(500);
    }
    const s = newServer();
    expect((await api(a).post("/v1/servers", s)).status).toBe(201);
    await expect.poll(() => api(b).get(`/v1/servers/${s.domain}`).then((r) => r.status), { timeout: 3000 }).toBe(200);
    const db = await connect(dbUrl);
    const [rows] = await db.query<any[]>("SELECT domain FROM events WHERE type = 'server.status'");
    await db.end();
    expect(rows).toEqual([]);
  }, 60_000);
});
