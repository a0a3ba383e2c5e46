// Contract §10 probes: /livez while the event loop answers, /readyz while the node should take traffic. Readiness
// stays 200 through a MySQL outage (heartbeats are taken from memory) and turns 503 first on SIGTERM, for
// SHUTDOWN_DRAIN_MS, while everything else keeps serving.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { dropDatabase, freshDatabaseUrl, mysqlBaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { spawnRegistrar, startRegistrar, type ChildRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

describe("probes", () => {
  const dbUrl = freshDatabaseUrl("probes");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl });
    c = api(reg.url);
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("answers /livez and /readyz with 200 on a running node, uncached, also under HEAD", async () => {
    const live = await c.get("/livez");
    expect(live.status).toBe(200);
    expect(live.body).toEqual({ status: "alive" });
    expect(live.headers.get("cache-control")).toBe("no-store");
    const ready = await c.get("/readyz");
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: "ready" });
    expect(ready.headers.get("cache-control")).toBe("no-store");
    expect((await c.call("HEAD", "/readyz")).status).toBe(200);
  });

  it("refuses other methods with 405 and Allow, and is not served under /v1", async () => {
    for (const path of ["/livez", "/readyz"]) {
      const res = await c.post(path, { status: "draining" });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toContain("GET");
      expect(res.body.error.code).toBe("method_not_allowed");
      expect((await c.get(`/v1${path}`)).status).toBe(404);
    }
    // A refused probe changed nothing.
    expect((await c.get("/readyz")).status).toBe(200);
  });
});

describe("readiness through a MySQL outage", () => {
  const direct = freshDatabaseUrl("probesdown");
  let proxy: TcpProxy;
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  beforeAll(async () => {
    const base = new URL(mysqlBaseUrl());
    proxy = await startTcpProxy({ host: base.hostname, port: Number(base.port || 3306) });
    const viaProxy = new URL(direct);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    reg = await startRegistrar({ DATABASE_URL: viaProxy.toString(), FLUSH_INTERVAL_MS: "50", RATE_LIMIT_REGISTER: "off" });
    c = api(reg.url);
  });
  afterAll(async () => {
    await proxy?.resume();
    await reg?.stop();
    await proxy?.close();
    await dropDatabase(direct);
  });

  it("stays ready and alive while MySQL is refused or hangs: heartbeats are taken, writes answer 503", async () => {
    const s = newServer();
    const reg1 = await c.post("/v1/servers", s);
    expect(reg1.status).toBe(201);
    const token = reg1.body.token;
    for (const outage of ["refused", "hanging"] as const) {
      if (outage === "refused") await proxy.pause();
      else await proxy.stall();
      expect((await c.get("/readyz")).status).toBe(200);
      expect((await c.get("/livez")).status).toBe(200);
      const hb = await c.post(`/v1/servers/${s.domain}/heartbeat`, { user_count: 3 }, { token });
      expect(hb.status).toBe(200);
      const write = await c.post("/v1/servers", newServer());
      expect(write.status, write.text).toBe(503);
      expect(write.body.error.code).toBe("unavailable");
      // /v1/health reports the outage; the probe orchestrators use does not.
      expect((await c.get("/v1/health")).status).toBe(503);
      expect((await c.get("/readyz")).status).toBe(200);
      await proxy.resume();
      await vi.waitFor(async () => expect((await c.get("/v1/health")).status).toBe(200), { timeout: 15_000, interval: 100 });
    }
  }, 60_000);
});

describe("drain on SIGTERM", () => {
  const dbUrl = freshDatabaseUrl("probesdrain");
  let child: ChildRegistrar | undefined;
  afterAll(async () => {
    await child?.kill("SIGKILL");
    await dropDatabase(dbUrl);
  });

  it("turns /readyz 503 first, keeps serving for SHUTDOWN_DRAIN_MS, then closes and exits 0", async () => {
    const drainMs = 4000;
    child = await spawnRegistrar({ DATABASE_URL: dbUrl, SHUTDOWN_DRAIN_MS: String(drainMs), RATE_LIMIT_REGISTER: "off" });
    const c = api(child.url);
    const s = newServer();
    const created = await c.post("/v1/servers", s);
    expect(created.status).toBe(201);
    expect((await c.get("/readyz")).status).toBe(200);
    const signalledAt = Date.now();
    child.child.kill("SIGTERM");
    await vi.waitFor(async () => expect((await c.get("/readyz")).status).toBe(503), { timeout: 2000, interval: 20 });
    const draining = await c.get("/readyz");
    expect(draining.body).toEqual({ status: "draining" });
    // Still serving while load balancers take the node out: reads, heartbeats, even writes.
    expect((await c.get(`/v1/servers/${s.domain}`)).status).toBe(200);
    expect((await c.post(`/v1/servers/${s.domain}/heartbeat`, {}, { token: created.body.token })).status).toBe(200);
    expect((await c.post("/v1/servers", newServer())).status).toBe(201);
    expect((await c.get("/livez")).status).toBe(200);
    expect(Date.now() - signalledAt).toBeLessThan(drainMs);
    expect(await child.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(drainMs);
    expect(child.output.some((l) => l.includes("draining: /readyz answers 503"))).toBe(true);
  }, 30_000);
});
