// Recovery and reclaim over real HTTP, WebSocket and MariaDB (contract §8.2): an expired token comes back through a
// proof, a squatted domain goes to the prover, and the abuse cases (no challenge, failures, floods) change nothing.
import type { RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { publish, trustEnv } from "../support/trust.js";
import { TestSocket } from "../support/ws-test-client.js";
import { DocumentServer } from "../support/zent-docs.js";

const REG = "reg.recover.test";

describe("recovery and reclaim", () => {
  const dbUrl = freshDatabaseUrl("trustrec");
  let docs: DocumentServer;
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  let db: Awaited<ReturnType<typeof connect>>;

  beforeAll(async () => {
    docs = await DocumentServer.start();
    // Tokens reach their absolute expiry after ~2 s, so an expired token can be recovered in the test.
    reg = await startRegistrar({ DATABASE_URL: dbUrl, REGISTRAR_ID: REG, TOKEN_MAX_AGE_DAYS: "0.000025", ...trustEnv(docs) });
    c = api(reg.url);
    db = await connect(dbUrl);
  });
  afterAll(async () => {
    await db?.end();
    await reg?.stop();
    await docs?.close();
    await dropDatabase(dbUrl);
  });

  const register = async (overrides: Record<string, unknown> = {}) => {
    const body = newServer(overrides);
    const res = await c.post("/v1/servers", body);
    expect(res.status).toBe(201);
    return { domain: body.domain as string, token: res.body.token as string, body };
  };

  it("gives back an expired token: old tokens dead, the new one works over HTTP and WebSocket, the record verified", async () => {
    const s = await register();
    await vi.waitFor(async () => expect((await c.post(`/v1/servers/${s.domain}/heartbeat`, undefined, { token: s.token })).body.error?.code).toBe("token_expired"), {
      timeout: 6000, interval: 200,
    });
    const ch = await c.post(`/v1/servers/${s.domain}/recovery`);
    expect(ch.status).toBe(200);
    expect(ch.body).toEqual({ challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43,}$/), registrar: REG, document_url: expect.stringContaining(s.domain), expires_at: expect.any(String) });
    const minutes = (Date.parse(ch.body.expires_at) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(59.9);
    expect(minutes).toBeLessThanOrEqual(60);
    // Asked again (by anybody), the same challenge: nobody can replace the one the owner is publishing.
    expect((await c.post(`/v1/servers/${s.domain}/recovery`)).body).toEqual(ch.body);
    await publish(docs, s.domain, { [REG]: ch.body.challenge });
    const done = await c.post(`/v1/servers/${s.domain}/recovery/complete`);
    expect(done.status).toBe(200);
    expect(done.body).toEqual({ server: expect.objectContaining({ domain: s.domain, verified: true }), token: expect.stringMatching(/^[0-9a-f]{64}$/), token_expires_at: expect.any(String) });
    expect(done.headers.get("cache-control") ?? "").not.toContain("public");
    const fresh = done.body.token as string;
    expect((await c.post(`/v1/servers/${s.domain}/heartbeat`, undefined, { token: s.token })).status).toBe(401);
    expect((await c.post(`/v1/servers/${s.domain}/heartbeat`, undefined, { token: fresh })).status).toBe(200);
    const ws = await TestSocket.open(reg.url, "/v1/ws/server");
    await ws.next((m) => m.op === "hello");
    ws.send({ op: "identify", domain: s.domain, token: fresh, protocol: 1 });
    expect((await ws.next((m) => m.op === "ready")).status).toBe("online");
    ws.ws.close();
    // The recovery challenge is spent: completing again needs a new one.
    const again = await c.post(`/v1/servers/${s.domain}/recovery/complete`);
    expect(again.status).toBe(422);
    expect(again.body.error.details[0].reason).toBe("no_challenge");
    const [audit] = await db.query<RowDataPacket[]>("SELECT actor FROM audit_log WHERE domain = ? AND action = 'server.recover'", [s.domain]);
    expect(audit.map((r) => r.actor)).toEqual(["ip:127.0.0.1"]);
    const [[ev]] = await db.query<RowDataPacket[]>("SELECT type, data FROM events WHERE domain = ? ORDER BY seq DESC LIMIT 1", [s.domain]);
    expect(ev.type).toBe("server.updated");
    expect(JSON.parse(ev.data)).toMatchObject({ verified: true });
  });

  it("hands a squatted domain to the prover: the squatter's token and session stop, the fields stay until updated", async () => {
    const squat = await register({ name: "Totally The Real One", voice_url: "https://voice.attacker.example/" });
    const ws = await TestSocket.open(reg.url, "/v1/ws/server");
    await ws.next((m) => m.op === "hello");
    ws.send({ op: "identify", domain: squat.domain, token: squat.token, protocol: 1 });
    await ws.next((m) => m.op === "ready");
    const ch = (await c.post(`/v1/servers/${squat.domain}/recovery`)).body.challenge;
    await publish(docs, squat.domain, { [REG]: ch });
    const done = await c.post(`/v1/servers/${squat.domain}/recovery/complete`);
    expect(done.status).toBe(200);
    expect(done.body.server).toMatchObject({ name: "Totally The Real One", voice_url: "https://voice.attacker.example/", verified: true });
    ws.send({ op: "heartbeat", seq: 1 });
    expect((await ws.closed).code).toBe(4001);
    expect((await c.put(`/v1/servers/${squat.domain}`, { name: "squatter strikes back" }, { token: squat.token })).status).toBe(401);
    const owned = await c.put(`/v1/servers/${squat.domain}`, { name: "The Real One", voice_url: null }, { token: done.body.token });
    expect(owned.status).toBe(200);
    expect(owned.body.server).toMatchObject({ name: "The Real One", voice_url: null });
  });

  it("changes nothing when the proof is not found, and refuses a completion without a pending challenge", async () => {
    const s = await register();
    const none = await c.post(`/v1/servers/${s.domain}/recovery/complete`);
    expect(none.status).toBe(422);
    expect(none.body.error.details).toEqual([expect.objectContaining({ reason: "no_challenge" })]);
    await c.post(`/v1/servers/${s.domain}/recovery`);
    await publish(docs, s.domain, { [REG]: "not-the-recovery-challenge-but-long-enough-to-look-like-one" });
    const failed = await c.post(`/v1/servers/${s.domain}/recovery/complete`);
    expect(failed.status).toBe(422);
    expect(failed.body.error.details[0].reason).toBe("challenge_missing");
    expect((await c.post(`/v1/servers/${s.domain}/heartbeat`, undefined, { token: s.token })).status).toBe(200);
    expect((await c.get(`/v1/servers/${s.domain}`)).body.server.verified).toBe(false);
  });

  it("answers 404 for an unknown domain and refuses body fields", async () => {
    expect((await c.post(`/v1/servers/nobody-${Date.now()}.example.com/recovery`)).status).toBe(404);
    expect((await c.post(`/v1/servers/nobody-${Date.now()}.example.com/recovery/complete`)).status).toBe(404);
    expect((await c.post(`/v1/servers/not_a_domain/recovery`)).status).toBe(404);
    const s = await register();
    expect((await c.post(`/v1/servers/${s.domain}/recovery`, { token: "x" })).status).toBe(400);
  });

  it("limits both recovery routes per client IP (RATE_LIMIT_RECOVERY)", async () => {
    const limited = await startRegistrar({ DATABASE_URL: dbUrl, REGISTRAR_ID: REG, ...trustEnv(docs), RATE_LIMIT_RECOVERY: "3/3600" });
    try {
      const l = api(limited.url);
      const body = newServer();
      expect((await l.post("/v1/servers", body)).status).toBe(201);
      const s = { domain: body.domain };
      expect((await l.post(`/v1/servers/${s.domain}/recovery`)).status).toBe(200);
      expect((await l.post(`/v1/servers/${s.domain}/recovery/complete`)).status).toBe(422);
      const third = await l.post(`/v1/servers/${s.domain}/recovery`);
      expect(third.headers.get("ratelimit-remaining")).toBe("0");
      const over = await l.post(`/v1/servers/${s.domain}/recovery/complete`);
      expect(over.status).toBe(429);
      expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);
    } finally {
      await limited.stop();
    }
  });
});
