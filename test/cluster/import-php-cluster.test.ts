// Importing into a running two-node cluster (contract §7): the import publishes its events on the cluster's
// subject, both nodes list the imported servers, their tokens work through either node, and the owner's timer
// turns a server online at import offline.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config.js";
import { importPhp } from "../../src/import/php-import.js";
import { startCluster, waitForShards, type TestCluster } from "../support/cluster.js";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api } from "../support/http.js";
import { startNats, type NatsServer } from "../support/nats-server.js";
import { createPhpDatabase, insertPhpRows, phpSample, recentPhpServer, type PhpServer } from "../support/php-db.js";
import { identified, TestSocket } from "../support/ws-test-client.js";

const OFFLINE_AFTER_S = 8;

describe("import:php while a two-node cluster runs", () => {
  const phpUrl = freshDatabaseUrl("phpclu");
  const dbUrl = freshDatabaseUrl("impclu");
  const nowMs = Date.now();
  const sample = phpSample(nowMs);
  let soon: PhpServer;
  let nats: NatsServer;
  let cluster: TestCluster;
  const urls = () => cluster.nodes.map((n) => n!.url);

  beforeAll(async () => {
    await createPhpDatabase(phpUrl);
    await insertPhpRows(phpUrl, Object.values(sample.servers), sample.ratings);
    nats = await startNats();
    cluster = await startCluster(2, { DATABASE_URL: dbUrl, NATS_URL: nats.url, OFFLINE_AFTER_S: String(OFFLINE_AFTER_S), RATE_LIMIT_LIST: "off" });
    await waitForShards(urls());
  }, 90_000);
  afterAll(async () => {
    await cluster?.stopAll();
    await nats?.cleanup();
    await dropDatabase(phpUrl);
    await dropDatabase(dbUrl);
  });

  it("lists the imported servers on both nodes, sends server.registered to both feeds, and accepts the old tokens through either node", async () => {
    const feeds = await Promise.all(urls().map(async (u) => {
      const f = await TestSocket.open(u, "/v1/feed");
      const hello = await f.op("hello");
      f.send({ op: "subscribe", after_seq: hello.last_seq });
      return f;
    }));
    soon = recentPhpServer(0);
    await insertPhpRows(phpUrl, [soon]);
    const report = await importPhp({ config: loadConfig(cluster.env), sourceUrl: phpUrl, dryRun: false });
    expect(report.servers).toMatchObject({ imported: 8, online: 1 });
    for (const u of urls()) {
      await vi.waitFor(async () => expect((await api(u).get("/v1/servers?limit=100")).body.total).toBe(8), { timeout: 5_000, interval: 50 });
    }
    const registered = (f: TestSocket) => f.messages.filter((m) => m.op === "event" && m.type === "server.registered").map((m) => m.seq);
    await vi.waitFor(() => expect(feeds.map((f) => registered(f).length)).toEqual([8, 8]), { timeout: 5_000 });
    expect(registered(feeds[1])).toEqual(registered(feeds[0]));
    for (const f of feeds) f.close();
    for (const u of urls()) {
      for (const s of [sample.servers.mixedCase, sample.servers.plain, soon]) {
        expect((await api(u).post(`/v1/servers/${s.domain}/heartbeat`, {}, { token: s.server_token })).status).toBe(200);
      }
      const legacy = await fetch(`${u}/servers/odd-json.example.com/heartbeat`, { method: "POST", headers: { authorization: `Bearer ${sample.servers.oddJson.server_token}` } });
      expect(legacy.status).toBe(204);
      const ws = await identified(u, "gamers.example.net", sample.servers.foreignHost.server_token);
      ws.close();
    }
  });

  it("turns a server offline on its owner's timer once it stops heartbeating", async () => {
    const lastBeatMs = Date.now();
    for (const u of urls()) {
      await vi.waitFor(async () => expect((await api(u).get("/v1/servers/soon.example.com")).body.server.status).toBe("offline"), {
        timeout: OFFLINE_AFTER_S * 1000 + 5_000,
        interval: 100,
      });
    }
    expect(Date.now() - lastBeatMs).toBeGreaterThanOrEqual(OFFLINE_AFTER_S * 1000 - 1000);
  });
});
