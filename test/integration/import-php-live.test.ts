// Importing into a running single-node registrar (contract §7): the imported servers are listed at once, a feed
// subscriber sees server.registered, old tokens work over /v1, the legacy routes and the WebSocket, statuses come
// from last_seen, and a server online at import turns offline on its own timer.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config.js";
import { importPhp } from "../../src/import/php-import.js";
import type { ImportReport } from "../../src/import/report.js";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api } from "../support/http.js";
import { createPhpDatabase, insertPhpRows, phpSample, recentPhpServer, type PhpServer } from "../support/php-db.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { identified, TestSocket } from "../support/ws-test-client.js";

const OFFLINE_AFTER_S = 8;

describe("import:php while a single-node registrar runs", () => {
  const phpUrl = freshDatabaseUrl("phplive");
  const dbUrl = freshDatabaseUrl("implive");
  const env = { DATABASE_URL: dbUrl, OFFLINE_AFTER_S: String(OFFLINE_AFTER_S), RATE_LIMIT_LIST: "off", RATE_LIMIT_REGISTER: "off" };
  const nowMs = Date.now();
  const sample = phpSample(nowMs);
  // Heartbeated at PHP a moment ago: online at import, a few seconds from its deadline.
  let soon: PhpServer;
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  let feed: TestSocket;
  let report: ImportReport;

  beforeAll(async () => {
    await createPhpDatabase(phpUrl);
    await insertPhpRows(phpUrl, Object.values(sample.servers), sample.ratings);
    reg = await startRegistrar(env);
    c = api(reg.url);
    // A server registered here before the import: its domain is one of the PHP ones.
    expect((await c.post("/v1/servers", { domain: "plain.example.io", name: "Here first", api_url: "https://plain.example.io/here" })).status).toBe(201);
    feed = await TestSocket.open(reg.url, "/v1/feed");
    const hello = await feed.op("hello");
    feed.send({ op: "subscribe", after_seq: hello.last_seq, types: ["server.registered"] });
    soon = recentPhpServer(0);
    await insertPhpRows(phpUrl, [soon]);
    report = await importPhp({ config: loadConfig(env), sourceUrl: phpUrl, dryRun: false });
  });
  afterAll(async () => {
    feed?.close();
    await reg?.stop();
    await dropDatabase(phpUrl);
    await dropDatabase(dbUrl);
  });

  it("lists the imported servers within seconds, leaving the one registered here alone", async () => {
    expect(report.servers).toMatchObject({ imported: 7, existingHere: [{ domain: "plain.example.io", sourceDomain: "plain.example.io", reason: "registered here" }] });
    await vi.waitFor(async () => expect((await c.get("/v1/servers?limit=100")).body.total).toBe(8), { timeout: 5_000, interval: 50 });
    expect((await c.get("/v1/servers/plain.example.io")).body.server.name).toBe("Here first");
    expect((await c.get("/v1/servers/chat.example.com")).body.server).toMatchObject({ capabilities: ["voice", "federation"], rating: { average: 3.67, count: 3 } });
  });

  it("shows each imported server to a feed subscriber as server.registered", async () => {
    await vi.waitFor(() => expect(feed.messages.filter((m) => m.op === "event").length).toBe(7), { timeout: 5_000, interval: 50 });
    const events = feed.messages.filter((m) => m.op === "event");
    expect(events.every((e) => e.type === "server.registered")).toBe(true);
    // Status from last_seen at import: with OFFLINE_AFTER_S=8 only the server seen a moment ago is online.
    expect(report.servers).toMatchObject({ online: 1, offline: 6 });
    expect(events.find((e) => e.domain === "soon.example.com").data.status).toBe("online");
    expect(events.find((e) => e.domain === "chat.example.com").data.status).toBe("offline");
  });

  it("accepts the PHP tokens at once over /v1, the legacy routes and the WebSocket", async () => {
    await vi.waitFor(async () => expect((await c.get("/v1/servers/gamers.example.net")).status).toBe(200), { timeout: 5_000 });
    expect((await c.post("/v1/servers/chat.example.com/heartbeat", {}, { token: sample.servers.mixedCase.server_token })).status).toBe(200);
    const legacy = await fetch(`${reg.url}/servers/Gamers.Example.NET/heartbeat`, {
      method: "POST", headers: { authorization: `Bearer ${sample.servers.foreignHost.server_token}` }, body: JSON.stringify({ userCount: 50 }),
    });
    expect(legacy.status).toBe(204);
    const s = await identified(reg.url, "long.example.com", sample.servers.tooLong.server_token);
    s.close();
    // The PHP token of the domain left alone is not this registrar's token for it.
    expect((await c.post("/v1/servers/plain.example.io/heartbeat", {}, { token: sample.servers.plain.server_token })).status).toBe(401);
  });

  it("gives each server its status from last_seen, and turns one online at import offline on its own timer", async () => {
    expect((await c.get("/v1/servers/old.example.org")).body.server.status).toBe("offline");
    const deadlineMs = soon.last_seen.getTime() + OFFLINE_AFTER_S * 1000;
    await vi.waitFor(async () => expect((await c.get("/v1/servers/soon.example.com")).body.server.status).toBe("offline"), {
      timeout: OFFLINE_AFTER_S * 1000 + 3_000,
      interval: 100,
    });
    expect(Date.now()).toBeGreaterThanOrEqual(deadlineMs);
  });
});
