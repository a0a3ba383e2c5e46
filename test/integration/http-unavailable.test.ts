// Contract §1/§3 with MySQL unreachable (through a TCP proxy the test cuts): writes answer 503 unavailable and change
// nothing, heartbeats are still accepted and written once MySQL is back, health reports degraded.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl, mysqlBaseUrl } from "../support/db.js";
import { api, newServer, type ApiResponse } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

/** A TCP forwarder to MySQL that can refuse service: `cut()` drops every connection and every new one. */
async function startProxy(target: { host: string; port: number }) {
  let down = false;
  const pairs = new Set<[net.Socket, net.Socket]>();
  const server = net.createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = net.connect(target);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      down = true;
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      pairs.clear();
    },
    restore() {
      down = false;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function expect503(res: ApiResponse) {
  expect(res.status, res.text).toBe(503);
  expect(res.body.error.code).toBe("unavailable");
  expect(Number(res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  expect(res.text).not.toMatch(/ECONN|PROTOCOL_|SELECT|INSERT|UPDATE/);
}

describe("with MySQL unreachable", () => {
  const direct = freshDatabaseUrl("unavail");
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  let db: Awaited<ReturnType<typeof connect>>;
  let domain: string;
  let token: string;
  let record: any;

  beforeAll(async () => {
    const base = new URL(mysqlBaseUrl());
    proxy = await startProxy({ host: base.hostname, port: Number(base.port || 3306) });
    const viaProxy = new URL(direct);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    reg = await startRegistrar({ DATABASE_URL: viaProxy.toString(), FLUSH_INTERVAL_MS: "50", RATE_LIMIT_REGISTER: "off", RATE_LIMIT_RATE: "off", RATINGS_ANONYMOUS: "true", RATE_LIMIT_LIST: "off" });
    c = api(reg.url);
    db = await connect(direct);
    const s = newServer();
    const res = await c.post("/v1/servers", s);
    expect(res.status).toBe(201);
    domain = s.domain;
    token = res.body.token;
    record = res.body.server;
    proxy.cut();
  });
  afterAll(async () => {
    proxy?.restore();
    await db?.end();
    await reg?.stop();
    await proxy?.close();
    await dropDatabase(direct);
  });

  it("reports status degraded with mysql down and answers 503 on /v1/health", async () => {
    const res = await c.get("/v1/health");
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ status: "degraded", checks: { mysql: "down", nats: "disabled" } });
  });

  it("answers registrations, updates, rotations, deletions and ratings with 503 unavailable and changes nothing", async () => {
    const s = newServer();
    expect503(await c.post("/v1/servers", s));
    expect((await c.get(`/v1/servers/${s.domain}`)).status).toBe(404);
    expect503(await c.put(`/v1/servers/${domain}`, { name: "Changed while down" }, { token }));
    expect503(await c.post(`/v1/servers/${domain}/token`, undefined, { token }));
    expect503(await c.del(`/v1/servers/${domain}`, { token }));
    expect503(await c.post(`/v1/servers/${domain}/rate`, { user_id: "u", rating: 5 }));
    const now = (await c.get(`/v1/servers/${domain}`)).body.server;
    expect(now).toEqual({ ...record, last_seen: now.last_seen });
    const [[row]] = (await db.query("SELECT name FROM servers WHERE domain = ?", [domain])) as any;
    expect(row.name).toBe(record.name);
    const [[ratings]] = (await db.query("SELECT COUNT(*) AS n FROM ratings")) as any;
    expect(ratings.n).toBe(0);
    const [[servers]] = (await db.query("SELECT COUNT(*) AS n FROM servers")) as any;
    expect(servers.n).toBe(1);
  });

  it("still accepts heartbeats (soft state) and serves reads from memory", async () => {
    const hb = await c.post(`/v1/servers/${domain}/heartbeat`, { user_count: 42, channel_count: 4 }, { token });
    expect(hb.status).toBe(200);
    expect(hb.body.status).toBe("online");
    expect((await c.get(`/v1/servers/${domain}`)).body.server).toMatchObject({ user_count: 42, channel_count: 4 });
    expect((await c.get("/v1/servers")).body.servers[0].user_count).toBe(42);
  });

  it("writes the heartbeat state once MySQL is back, and takes writes again", async () => {
    proxy.restore();
    await vi.waitFor(
      async () => {
        const [[row]] = (await db.query("SELECT user_count, channel_count FROM servers WHERE domain = ?", [domain])) as any;
        expect(row).toEqual({ user_count: 42, channel_count: 4 });
      },
      { timeout: 10_000, interval: 50 },
    );
    await vi.waitFor(async () => expect((await c.get("/v1/health")).status).toBe(200), { timeout: 10_000, interval: 50 });
    const put = await c.put(`/v1/servers/${domain}`, { name: "Back again" }, { token });
    expect(put.status).toBe(200);
    expect((await c.post("/v1/servers", newServer())).status).toBe(201);
  });
});
