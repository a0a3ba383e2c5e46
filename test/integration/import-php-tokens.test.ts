// After a PHP import, the registrar serves the imported servers: old tokens work over HTTP and WebSocket, an
// expired one is refused, and a server online at import turns offline on its own timer counted from last_seen.
import type { Connection, RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config.js";
import { importPhp } from "../../src/import/php-import.js";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api } from "../support/http.js";
import { createPhpDatabase, insertPhpRows, phpSample, recentPhpServer, type PhpServer } from "../support/php-db.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { identified, TestSocket } from "../support/ws-test-client.js";

const OFFLINE_AFTER_S = 6;

describe("imported servers on a registrar started after the import", () => {
  const phpUrl = freshDatabaseUrl("phptok");
  const targetUrl = freshDatabaseUrl("imptok");
  const env = { DATABASE_URL: targetUrl, OFFLINE_AFTER_S: String(OFFLINE_AFTER_S), RATE_LIMIT_LIST: "off", RATE_LIMIT_RATE: "off" };
  const nowMs = Date.now();
  const sample = phpSample(nowMs);
  // Heartbeated a second ago at PHP: online at import, with about five seconds left.
  let soon: PhpServer;
  let reg: InProcessRegistrar;
  let db: Connection;
  let c: ReturnType<typeof api>;

  beforeAll(async () => {
    await createPhpDatabase(phpUrl);
    // A second before the import, whatever creating the database took.
    soon = recentPhpServer(1);
    await insertPhpRows(phpUrl, [...Object.values(sample.servers), soon], sample.ratings);
    const report = await importPhp({ config: loadConfig(env), sourceUrl: phpUrl, dryRun: false });
    expect(report.servers.imported).toBe(8);
    reg = await startRegistrar(env);
    c = api(reg.url);
    db = await connect(targetUrl);
  });
  afterAll(async () => {
    await db?.end();
    await reg?.stop();
    await dropDatabase(phpUrl);
    await dropDatabase(targetUrl);
  });

  it("accepts each server's PHP token for a /v1 heartbeat, under any case of its domain, and refuses another's", async () => {
    const chat = sample.servers.mixedCase;
    const hb = await c.post("/v1/servers/Chat.Example.COM/heartbeat", { user_count: 130 }, { token: chat.server_token });
    expect(hb.status).toBe(200);
    expect(hb.body.status).toBe("online");
    expect((await c.post("/v1/servers/chat.example.com/heartbeat", {}, { token: sample.servers.plain.server_token })).status).toBe(401);
    // A heartbeat brings an offline imported server back online.
    const old = await c.post("/v1/servers/old.example.org/heartbeat", {}, { token: sample.servers.oldHttp.server_token });
    expect(old.status).toBe(200);
    expect((await c.get("/v1/servers/old.example.org")).body.server.status).toBe("online");
  });

  it("keeps a non-conforming imported field as it was through heartbeats and their write-behind flush", async () => {
    const long = sample.servers.tooLong;
    const before = Date.now();
    expect((await c.post("/v1/servers/long.example.com/heartbeat", { user_count: 3 }, { token: long.server_token })).status).toBe(200);
    await vi.waitFor(async () => {
      const [[row]] = await db.query<RowDataPacket[]>("SELECT last_seen, user_count FROM servers WHERE domain = 'long.example.com'");
      expect((row.last_seen as Date).getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(row.user_count).toBe(3);
    }, { timeout: 5_000, interval: 100 });
    const [[row]] = await db.query<RowDataPacket[]>("SELECT version, name FROM servers WHERE domain = 'long.example.com'");
    expect(row).toEqual({ version: long.version, name: long.name });
  });

  it("refuses the token whose PHP expiry passed with 401 token_expired", async () => {
    const res = await c.post("/v1/servers/expired.example.com/heartbeat", {}, { token: sample.servers.expired.server_token });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe("token_expired");
  });

  it("lets an imported server update itself with its old token; the update must conform to §2 for the fields it sends", async () => {
    const gamers = sample.servers.foreignHost;
    const bad = await c.put("/v1/servers/gamers.example.net", { api_url: "https://api.hosting-provider.com/x" }, { token: gamers.server_token });
    expect(bad.status).toBe(400);
    const ok = await c.put("/v1/servers/gamers.example.net", { api_url: "https://gamers.example.net/api" }, { token: gamers.server_token });
    expect(ok.status).toBe(200);
    expect(ok.body.server.api_url).toBe("https://gamers.example.net/api");
  });

  it("identifies a WebSocket session with the PHP token", async () => {
    const s = await identified(reg.url, "plain.example.io", sample.servers.plain.server_token);
    s.close();
    const bad = await TestSocket.open(reg.url, "/v1/ws/server");
    await bad.op("hello");
    bad.send({ op: "identify", domain: "plain.example.io", token: sample.servers.oldHttp.server_token, protocol: 1 });
    expect((await bad.closedWithin()).code).toBe(4001);
  });

  it("lists every imported server with its record: ratings summary, capabilities list, verified", async () => {
    // One PHP row was last seen long ago: dead (DEAD_AFTER_DAYS, §9.2), listed only with include_dead.
    expect((await c.get("/v1/servers?limit=100&sort=name&include_dead=true")).body.total).toBe(8);
    expect((await c.get("/v1/servers?limit=100&sort=name")).body.total).toBe(7);
    const chat = (await c.get("/v1/servers/chat.example.com")).body.server;
    expect(chat).toMatchObject({ capabilities: ["voice", "federation"], protocols: ["zent-v1"], verified: true, rating: { average: 3.67, count: 3 } });
  });

  it("turns a server that was online at import offline on its own timer, OFFLINE_AFTER_S after its PHP last_seen", async () => {
    const deadlineMs = soon.last_seen.getTime() + OFFLINE_AFTER_S * 1000;
    // Online at import (its server.registered record says so), offline only by the timer, at or after the deadline.
    const [[reg]] = await db.query<RowDataPacket[]>("SELECT data FROM events WHERE domain = 'soon.example.com' AND type = 'server.registered'");
    expect(JSON.parse(reg.data).status).toBe("online");
    await vi.waitFor(async () => expect((await c.get("/v1/servers/soon.example.com")).body.server.status).toBe("offline"), {
      timeout: OFFLINE_AFTER_S * 1000 + 3000,
      interval: 100,
    });
    // The transition is persisted with its event right after the in-memory flip (status sync).
    const ev = await vi.waitFor(async () => {
      const [[row]] = await db.query<RowDataPacket[]>("SELECT at, data FROM events WHERE domain = 'soon.example.com' AND type = 'server.status'");
      expect(row).toBeDefined();
      return row;
    });
    expect((ev.at as Date).getTime()).toBeGreaterThanOrEqual(deadlineMs);
    expect(JSON.parse(ev.data)).toEqual({ status: "offline", last_seen: soon.last_seen.toISOString() });
  });
});
