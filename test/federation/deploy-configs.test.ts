// Issue 5: the example NATS configs in deploy/nats-federation/ work as docs/federation.md says: A's registrar and
// peer B's leaf node exchange federation traffic, and B can publish only under its own id as far as A can see.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect as natsConnect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ROOT } from "../support/registrar.js";
import { api, newServer } from "../support/http.js";
import { freePort, NatsServer } from "../support/nats-server.js";
import { metric, natsClient, publishJson, startPeer, type TestPeer } from "../support/federation.js";

const DEPLOY = path.join(ROOT, "deploy/nats-federation");

/** Starts a NATS server from a deploy config, with the listen addresses and store moved to test values. */
async function fromConfig(file: string, port: number, replace: [string, string][]): Promise<NatsServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "zt-feddeploy-"));
  let conf = readFileSync(path.join(DEPLOY, file), "utf8")
    .replace("0.0.0.0:4222", `127.0.0.1:${port}`)
    .replace("/var/lib/nats/jetstream", path.join(dir, "js"));
  for (const [from, to] of replace) conf = conf.replace(from, to);
  writeFileSync(path.join(dir, "nats.conf"), conf);
  const server = new NatsServer(port, ["-c", path.join(dir, "nats.conf")], dir);
  await server.start();
  return server;
}

const natsClientOnce = (url: string) => natsConnect({ servers: url, timeout: 3000 });

function record(domain: string, origin: string) {
  const at = new Date().toISOString();
  return {
    domain, name: domain, description: null, icon: null, api_url: `https://${domain}/api`, ws_url: null, voice_url: null, voice_provider: null,
    cdn_url: null, protocols: [], capabilities: [], version: null, user_count: 0, channel_count: 0, verified: false, status: "online",
    last_seen: at, created_at: at, rating: { average: null, count: 0 }, origin,
  };
}
const changes = (from: string, domain: string, origin = from) => ({
  v: 1, from, pub: "deploytest", n: 1,
  changes: [{ domain, origin, version: 1, at: new Date().toISOString(), deleted: false, server: record(domain, origin) }],
});

describe("the example NATS configs for two operators", () => {
  let hub: NatsServer;
  let leaf: NatsServer;
  let a: TestPeer;
  let b: NatsConnection;

  beforeAll(async () => {
    const [hubPort, leafPort, bPort] = await Promise.all([freePort(), freePort(), freePort()]);
    hub = await fromConfig("hub-reg-a.conf", hubPort, [
      ["0.0.0.0:7422", `127.0.0.1:${leafPort}`],
      // A test-only user of A's account without permissions limits: the spy below that watches for leaks.
      ["    users: [\n      {\n        user: reg-a", "    users: [\n      { user: spy, password: spy }\n      {\n        user: reg-a"],
    ]);
    leaf = await fromConfig("leaf-reg-b.conf", bPort, [["nats.reg-a.example:7422", `127.0.0.1:${leafPort}`]]);
    a = await startPeer({
      id: "reg.a.example", peers: ["reg.b.example", "reg.c.example"],
      natsUrl: `nats://reg-a:change-me-reg-a@127.0.0.1:${hubPort}`,
      // The cluster id the config's permissions name.
      env: { CLUSTER_ID: "zent" },
    });
    // Operator B's side of the link, played by a client of B's registrar user.
    b = await natsClient(`nats://reg-b:change-me-reg-b@127.0.0.1:${bPort}`);
  }, 60_000);

  it("requires a login on both client ports", async () => {
    for (const server of [hub, leaf]) await expect(natsClientOnce(server.url)).rejects.toThrow(/authorization/i);
  });

  afterAll(async () => {
    await b?.close();
    await a?.drop();
    await leaf?.cleanup();
    await hub?.cleanup();
  });

  it("delivers B's own changes to A's registrar, and A's changes and anti-entropy answers to B", async () => {
    const seen: string[] = [];
    b.subscribe("zent.fed.reg_a_example.changes", { callback: (_e, m) => void seen.push(m.subject) });
    await b.flush();
    const domain = `b${Date.now()}.example.org`;
    await vi.waitFor(async () => {
      publishJson(b, "zent.fed.reg_b_example.changes", changes("reg.b.example", domain));
      await b.flush();
      expect((await api(a.url).get(`/v1/servers/${domain}`)).body.server?.origin).toBe("reg.b.example");
    }, { timeout: 10_000, interval: 300 });

    expect((await api(a.url).post("/v1/servers", newServer())).status).toBe(201);
    await vi.waitFor(() => expect(seen).toContain("zent.fed.reg_a_example.changes"), { timeout: 3000, interval: 20 });
    const digest = await b.request("zent.fed.reg_a_example.sync.digest", new TextEncoder().encode('{"v":1}'), { timeout: 3000 });
    expect(JSON.parse(new TextDecoder().decode(digest.data)).root).toMatch(/^[0-9a-f]{16}$/);
  });

  it("never lets B's traffic appear under another registrar's subjects or A's cluster subjects", async () => {
    const forged = `c${Date.now()}.example.org`;
    const spy = await natsClient(hub.url.replace("nats://", "nats://spy:spy@"));
    const leaked: string[] = [];
    spy.subscribe("zent.>", { callback: (_e, m) => void leaked.push(m.subject) });
    await spy.flush();
    // Control: B's own subject does cross, so the spy sees what crosses. Sent until it arrives (the spy's interest
    // travels over the leaf link first), then once more after the forgeries: one connection keeps its order, so
    // anything forged that crossed would be seen before the last control.
    const control = "zent.fed.reg_b_example.relay.reg_a_example";
    const sendControl = async () => {
      publishJson(b, control, { v: 1, from: "reg.b.example", to: "reg.a.example", pub: "deploytest", n: 1, changes: [] });
      await b.flush();
    };
    await vi.waitFor(async () => {
      await sendControl();
      expect(leaked).toContain(control);
    }, { timeout: 5000, interval: 50 });
    const controlsBefore = leaked.filter((s) => s === control).length;
    // B pretends to be registrar C, and to be A, and writes into A's cluster subjects.
    publishJson(b, "zent.fed.reg_c_example.changes", changes("reg.c.example", forged));
    publishJson(b, "zent.fed.reg_a_example.changes", changes("reg.a.example", `${forged}x`));
    publishJson(b, "zent.fed.reg_a_example.relay.reg_b_example", changes("reg.a.example", `${forged}y`));
    b.publish("zent.zent.events", new TextEncoder().encode("{}"));
    await sendControl();
    await vi.waitFor(() => expect(leaked.filter((s) => s === control).length).toBeGreaterThan(controlsBefore), { timeout: 5000, interval: 20 });
    await spy.close();
    // (A's own anti-entropy requests to C show up on the spy too; they are not B's.)
    const published = ["zent.fed.reg_c_example.changes", "zent.fed.reg_a_example.changes", "zent.fed.reg_a_example.relay.reg_b_example", "zent.zent.events"];
    expect(leaked.filter((s) => published.includes(s))).toEqual([]);
    expect((await api(a.url).get(`/v1/servers/${forged}`)).status).toBe(404);
    // Nothing even reached A's registrar to be dropped.
    expect(await metric(a.url, "registrar_fed_dropped_total")).toBe(0);
  });
});
