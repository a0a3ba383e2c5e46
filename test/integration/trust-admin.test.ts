// The operator's tools over real HTTP and MariaDB (contract §8.5): every admin route, bans, the audit log, 404
// without ADMIN_TOKEN, and `npm run admin` driving a running registrar.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { ROOT, startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { trustEnv } from "../support/trust.js";
import { TestSocket } from "../support/ws-test-client.js";
import { DocumentServer } from "../support/zent-docs.js";

const REG = "reg.admin.test";
const ADMIN_TOKEN = "a1b2c3d4".repeat(8);
const run = promisify(execFile);

const ADMIN_ROUTES: [string, string][] = [
  ["PUT", "/v1/admin/servers/x.example.com/verified"],
  ["POST", "/v1/admin/servers/x.example.com/token"],
  ["DELETE", "/v1/admin/servers/x.example.com"],
  ["PUT", "/v1/admin/bans/x.example.com"],
  ["DELETE", "/v1/admin/bans/x.example.com"],
  ["GET", "/v1/admin/bans"],
  ["DELETE", "/v1/admin/servers/x.example.com/ratings/u%40h.example.com"],
  ["GET", "/v1/admin/audit"],
];

describe("without ADMIN_TOKEN", () => {
  const dbUrl = freshDatabaseUrl("trustnoadm");
  let reg: InProcessRegistrar;
  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl });
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("answers 404 on every admin route, whatever the method or token", async () => {
    const c = api(reg.url);
    for (const [method, path] of ADMIN_ROUTES) {
      for (const token of [undefined, ADMIN_TOKEN]) {
        const res = await c.call(method, path, { token, body: method === "GET" ? undefined : { verified: true, reason: "x" } });
        expect(res.status, `${method} ${path}`).toBe(404);
        expect(res.body.error.code).toBe("not_found");
      }
      expect((await c.call("PATCH", path)).status).toBe(404);
    }
  });
});

describe("the operator's routes", () => {
  const dbUrl = freshDatabaseUrl("trustadm");
  let docs: DocumentServer;
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  let db: Awaited<ReturnType<typeof connect>>;
  const admin = { token: ADMIN_TOKEN };

  beforeAll(async () => {
    docs = await DocumentServer.start();
    reg = await startRegistrar({ DATABASE_URL: dbUrl, REGISTRAR_ID: REG, ADMIN_TOKEN, RATINGS_ANONYMOUS: "true", ...trustEnv(docs) });
    c = api(reg.url);
    db = await connect(dbUrl);
  });
  afterAll(async () => {
    await db?.end();
    await reg?.stop();
    await docs?.close();
    await dropDatabase(dbUrl);
  });

  const register = async () => {
    const body = newServer();
    const res = await c.post("/v1/servers", body);
    expect(res.status).toBe(201);
    return { domain: body.domain as string, token: res.body.token as string };
  };
  const auditOf = async (domain: string) => {
    const [rows] = await db.query<RowDataPacket[]>("SELECT actor, action, detail FROM audit_log WHERE domain = ? ORDER BY id", [domain]);
    return rows.map((r) => ({ actor: r.actor, action: r.action, detail: r.detail ? JSON.parse(r.detail) : null }));
  };

  it("refuses a missing or wrong admin token (401) and a server's own token", async () => {
    const s = await register();
    for (const [method, path] of ADMIN_ROUTES) {
      const body = method === "GET" ? undefined : { verified: true, reason: "x" };
      expect((await c.call(method, path, { body })).status, `${method} ${path}`).toBe(401);
      expect((await c.call(method, path, { body, token: "f".repeat(64) })).status).toBe(401);
      expect((await c.call(method, path, { body, token: s.token })).status).toBe(401);
    }
  });

  it("sets verified either way, like a proof would: record, event, audit row", async () => {
    const s = await register();
    const on = await c.put(`/v1/admin/servers/${s.domain}/verified`, { verified: true }, admin);
    expect(on.status).toBe(200);
    expect(on.body.server).toMatchObject({ domain: s.domain, verified: true, verified_at: expect.any(String) });
    expect((await c.get(`/v1/servers/${s.domain}`)).body.server.verified).toBe(true);
    const off = await c.put(`/v1/admin/servers/${s.domain}/verified`, { verified: false }, admin);
    expect(off.body.server).toMatchObject({ verified: false, verified_at: null });
    expect(await auditOf(s.domain)).toEqual([
      expect.objectContaining({ action: "server.register" }),
      { actor: "admin:operator", action: "admin.verify", detail: { verified: true } },
      { actor: "admin:operator", action: "admin.unverify", detail: { verified: false } },
    ]);
    const [events] = await db.query<RowDataPacket[]>("SELECT type FROM events WHERE domain = ? ORDER BY seq", [s.domain]);
    expect(events.map((e) => e.type)).toEqual(["server.registered", "server.updated", "server.updated"]);
    for (const bad of [{}, { verified: "yes" }, { verified: true, extra: 1 }]) {
      expect((await c.put(`/v1/admin/servers/${s.domain}/verified`, bad, admin)).status).toBe(400);
    }
    expect((await c.put(`/v1/admin/servers/nobody-${Date.now()}.example.com/verified`, { verified: true }, admin)).status).toBe(404);
  });

  it("reissues a token: the old one and its session stop at once, the new one works", async () => {
    const s = await register();
    const ws = await TestSocket.open(reg.url, "/v1/ws/server");
    await ws.next((m) => m.op === "hello");
    ws.send({ op: "identify", domain: s.domain, token: s.token, protocol: 1 });
    await ws.next((m) => m.op === "ready");
    const res = await c.post(`/v1/admin/servers/${s.domain}/token`, undefined, admin);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ token: expect.stringMatching(/^[0-9a-f]{64}$/), token_expires_at: expect.any(String) });
    ws.send({ op: "heartbeat", seq: 1 });
    expect((await ws.closed).code).toBe(4001);
    expect((await c.post(`/v1/servers/${s.domain}/heartbeat`, undefined, { token: s.token })).status).toBe(401);
    expect((await c.post(`/v1/servers/${s.domain}/heartbeat`, undefined, { token: res.body.token })).status).toBe(200);
    expect((await auditOf(s.domain)).map((a) => a.action)).toContain("admin.token_reissue");
  });

  it("removes a server like its owner's delete, with the reason in the audit log", async () => {
    const s = await register();
    expect((await c.post(`/v1/servers/${s.domain}/rate`, { user_id: "u", rating: 4 })).status).toBe(201);
    const res = await c.del(`/v1/admin/servers/${s.domain}`, { ...admin, body: { reason: "phishing" } });
    expect(res.status).toBe(204);
    expect((await c.get(`/v1/servers/${s.domain}`)).status).toBe(404);
    const [[n]] = await db.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM ratings WHERE domain = ?", [s.domain]);
    expect(Number(n.n)).toBe(0);
    expect((await auditOf(s.domain)).at(-1)).toEqual({ actor: "admin:operator", action: "admin.remove", detail: { reason: "phishing" } });
    const [[ev]] = await db.query<RowDataPacket[]>("SELECT type FROM events WHERE domain = ? ORDER BY seq DESC LIMIT 1", [s.domain]);
    expect(ev.type).toBe("server.removed");
    expect((await c.del(`/v1/admin/servers/${s.domain}`, admin)).status).toBe(404);
  });

  it("bans: a registered domain is removed, registration and recovery answer 403 banned until the ban is lifted", async () => {
    const s = await register();
    const ban = await c.put(`/v1/admin/bans/${s.domain}`, { reason: "malware" }, admin);
    expect(ban.status).toBe(200);
    expect(ban.body).toEqual({ ban: { domain: s.domain, reason: "malware", created_at: expect.any(String) } });
    expect((await c.get(`/v1/servers/${s.domain}`)).status).toBe(404);
    const again = await c.post("/v1/servers", { ...newServer(), domain: s.domain, api_url: `https://${s.domain}/api` });
    expect(again.status).toBe(403);
    expect(again.body.error.code).toBe("banned");
    // The legacy route and any spelling of the domain are banned too.
    expect((await c.post("/v1/servers", { ...newServer(), domain: s.domain.toUpperCase(), api_url: `https://${s.domain}/api` })).status).toBe(403);
    expect((await c.post(`/v1/servers/${s.domain}/recovery`)).status).toBe(403);
    expect((await c.post(`/v1/servers/${s.domain}/recovery/complete`)).body.error.code).toBe("banned");
    const list = await c.get("/v1/admin/bans", admin);
    expect(list.body.bans).toContainEqual({ domain: s.domain, reason: "malware", created_at: ban.body.ban.created_at });
    expect((await c.put(`/v1/admin/bans/${s.domain}`, {}, admin)).status).toBe(400);
    expect((await c.del(`/v1/admin/bans/${s.domain}`, admin)).status).toBe(204);
    expect((await c.del(`/v1/admin/bans/${s.domain}`, admin)).status).toBe(404);
    expect((await c.post("/v1/servers", { ...newServer(), domain: s.domain, api_url: `https://${s.domain}/api` })).status).toBe(201);
    expect((await auditOf(s.domain)).map((a) => a.action)).toEqual(["server.register", "admin.ban", "admin.remove", "admin.unban", "server.register"]);
  });

  it("removes one rating and recomputes the summary everywhere", async () => {
    const s = await register();
    await c.post(`/v1/servers/${s.domain}/rate`, { user_id: "low", rating: 1 });
    await c.post(`/v1/servers/${s.domain}/rate`, { user_id: "high", rating: 5 });
    expect((await c.get(`/v1/servers/${s.domain}`)).body.server.rating).toMatchObject({ average: 3, count: 2 });
    expect((await c.del(`/v1/admin/servers/${s.domain}/ratings/low`, admin)).status).toBe(204);
    expect((await c.get(`/v1/servers/${s.domain}`)).body.server.rating).toEqual({ average: 5, count: 1, distribution: [0, 0, 0, 0, 1], verified_count: 0 });
    expect((await c.get(`/v1/servers/${s.domain}/ratings`)).body.ratings.map((r: { user_id: string }) => r.user_id)).toEqual(["high"]);
    expect((await c.del(`/v1/admin/servers/${s.domain}/ratings/low`, admin)).status).toBe(404);
    const [[ev]] = await db.query<RowDataPacket[]>("SELECT type, data FROM events WHERE domain = ? ORDER BY seq DESC LIMIT 1", [s.domain]);
    expect(ev.type).toBe("rating.created");
    expect(JSON.parse(ev.data)).toEqual({ removed: { user_id: "low" }, summary: { average: 5, count: 1, sum: 5, distribution: [0, 0, 0, 0, 1], verified_count: 0 } });
  });

  it("reads the audit log newest first, by domain, paged by id", async () => {
    const s = await register();
    await c.put(`/v1/admin/servers/${s.domain}/verified`, { verified: true }, admin);
    await c.put(`/v1/admin/servers/${s.domain}/verified`, { verified: false }, admin);
    const page = await c.get(`/v1/admin/audit?domain=${s.domain}&limit=2`, admin);
    expect(page.status).toBe(200);
    expect(page.body.entries.map((e: { action: string }) => e.action)).toEqual(["admin.unverify", "admin.verify"]);
    expect(page.body.entries[0]).toEqual({ id: expect.any(Number), at: expect.any(String), actor: "admin:operator", action: "admin.unverify", domain: s.domain, detail: { verified: false } });
    const older = await c.get(`/v1/admin/audit?domain=${s.domain}&before=${page.body.entries[1].id}`, admin);
    expect(older.body.entries.map((e: { action: string }) => e.action)).toEqual(["server.register"]);
    for (const bad of ["limit=0", "limit=501", "limit=abc", "before=yesterday", "domain=not_a_domain"]) {
      expect((await c.get(`/v1/admin/audit?${bad}`, admin)).status, bad).toBe(400);
    }
  });

  describe("npm run admin", () => {
    const cli = async (...args: string[]) => {
      try {
        const r = await run(process.execPath, ["--import", "tsx", "src/admin.ts", ...args], {
          cwd: ROOT, env: { PATH: process.env.PATH, REGISTRAR_URL: reg.url, ADMIN_TOKEN }, timeout: 20_000,
        });
        return { code: 0, out: r.stdout, err: r.stderr };
      } catch (err) {
        const e = err as { code: number; stdout: string; stderr: string };
        return { code: e.code, out: e.stdout, err: e.stderr };
      }
    };

    it("drives every admin route", async () => {
      const s = await register();
      await c.post(`/v1/servers/${s.domain}/rate`, { user_id: "cli-user", rating: 2 });
      expect((await cli("--help")).out).toContain("Usage: npm run admin");
      const verify = await cli("verify", s.domain);
      expect(verify.code).toBe(0);
      expect(JSON.parse(verify.out).server.verified).toBe(true);
      expect(JSON.parse((await cli("unverify", s.domain)).out).server.verified).toBe(false);
      const token = JSON.parse((await cli("reissue-token", s.domain)).out).token;
      expect((await c.post(`/v1/servers/${s.domain}/heartbeat`, undefined, { token })).status).toBe(200);
      expect((await cli("remove-rating", s.domain, "cli-user")).code).toBe(0);
      expect((await c.get(`/v1/servers/${s.domain}`)).body.server.rating.count).toBe(0);
      const audit = JSON.parse((await cli("audit", "--domain", s.domain, "--limit", "3")).out);
      expect(audit.entries.map((e: { action: string }) => e.action)).toEqual(["rating.remove", "admin.token_reissue", "admin.unverify"]);
      expect((await cli("remove", s.domain, "--reason", "test")).code).toBe(0);
      expect((await c.get(`/v1/servers/${s.domain}`)).status).toBe(404);
      expect((await cli("ban", s.domain, "--reason", "cli ban")).code).toBe(0);
      expect(JSON.parse((await cli("bans")).out).bans).toContainEqual(expect.objectContaining({ domain: s.domain, reason: "cli ban" }));
      expect((await cli("unban", s.domain)).code).toBe(0);
      const refused = await cli("unban", s.domain);
      expect(refused.code).toBe(1);
      expect(refused.err).toContain("HTTP 404");
      expect((await cli("ban", s.domain)).code).toBe(2);
    }, 120_000);
  });
});
