// Proof of domain control over real HTTP and MariaDB (contract §8.1): challenges, the document check with every
// failure reason, what a success changes (record, event, audit, keys), re-checks with a grace, and key rotation.
import type { RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { generateIdentityKey } from "../../client/zent-document.js";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { publish, trustEnv, verifiedServer } from "../support/trust.js";
import { DocumentServer } from "../support/zent-docs.js";
import { quietFor } from "../support/wait.js";

const REG = "reg.trust.test";
const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe("proof of domain control", () => {
  const dbUrl = freshDatabaseUrl("trustver");
  let docs: DocumentServer;
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  let db: Awaited<ReturnType<typeof connect>>;

  beforeAll(async () => {
    docs = await DocumentServer.start();
    reg = await startRegistrar({ DATABASE_URL: dbUrl, REGISTRAR_ID: REG, ...trustEnv(docs) });
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
  const count = async (sql: string, args: unknown[] = []) => {
    const [[r]] = await db.query<RowDataPacket[]>(sql, args);
    return Number(r.n);
  };

  it("answers a challenge of ≥ 32 random bytes, the same one while it is pending", async () => {
    const s = await register();
    const a = await c.post(`/v1/servers/${s.domain}/verification`, undefined, { token: s.token });
    expect(a.status).toBe(200);
    expect(a.body).toEqual({
      challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43,}$/), registrar: REG, document_url: `http://127.0.0.1:${docs.port}/${s.domain}/.well-known/zent`,
      expires_at: expect.stringMatching(ISO_MS),
    });
    expect(Buffer.from(a.body.challenge, "base64url").length).toBeGreaterThanOrEqual(32);
    const days = (Date.parse(a.body.expires_at) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.99);
    expect(days).toBeLessThanOrEqual(7);
    const b = await c.post(`/v1/servers/${s.domain}/verification`, {}, { token: s.token });
    expect(b.body).toEqual(a.body);
    // Another server's challenge is another one.
    const other = await register();
    expect((await c.post(`/v1/servers/${other.domain}/verification`, undefined, { token: other.token })).body.challenge).not.toBe(a.body.challenge);
  });

  it("needs the server's own token, and says 401 for an unknown domain too", async () => {
    const s = await register();
    const other = await register();
    for (const path of ["verification", "verification/check"]) {
      expect((await c.post(`/v1/servers/${s.domain}/${path}`)).status).toBe(401);
      expect((await c.post(`/v1/servers/${s.domain}/${path}`, undefined, { token: other.token })).status).toBe(401);
      const unknown = await c.post(`/v1/servers/nobody-${Date.now()}.example.com/${path}`, undefined, { token: s.token });
      expect(unknown.status).toBe(401);
      expect(unknown.body.error.code).toBe("unauthorized");
    }
    expect((await c.post(`/v1/servers/${s.domain}/verification`, { challenge: "mine" }, { token: s.token })).status).toBe(400);
  });

  it("verifies when the document holds the challenge: record, verified_at, event, audit row and keys", async () => {
    const s = await register();
    const ch = (await c.post(`/v1/servers/${s.domain}/verification`, undefined, { token: s.token })).body.challenge;
    const key = await generateIdentityKey();
    await publish(docs, s.domain, { [REG]: ch, "other.reg": "x" }, [{ kid: "k1", key }]);
    const events = await count("SELECT COUNT(*) AS n FROM events WHERE domain = ? AND type = 'server.updated'", [s.domain]);
    const before = Date.now();
    const res = await c.post(`/v1/servers/${s.domain}/verification/check`, undefined, { token: s.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ verified: true, verified_at: expect.stringMatching(ISO_MS) });
    expect(Date.parse(res.body.verified_at)).toBeGreaterThanOrEqual(before - 5);
    const rec = (await c.get(`/v1/servers/${s.domain}`)).body.server;
    expect(rec).toMatchObject({ verified: true, verified_at: res.body.verified_at });
    expect((await c.get(`/v1/servers?verified=true&q=${s.domain}`)).body.total).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE domain = ? AND type = 'server.updated'", [s.domain])).toBe(events + 1);
    const [[ev]] = await db.query<RowDataPacket[]>("SELECT data FROM events WHERE domain = ? ORDER BY seq DESC LIMIT 1", [s.domain]);
    expect(JSON.parse(ev.data)).toMatchObject({ verified: true, verified_at: res.body.verified_at });
    expect(await count("SELECT COUNT(*) AS n FROM audit_log WHERE domain = ? AND action = 'server.verify' AND actor = ?", [s.domain, `domain:${s.domain}`])).toBe(1);
    const keys = await c.get(`/v1/servers/${s.domain}/keys`);
    expect(keys.status).toBe(200);
    expect(keys.body).toMatchObject({ domain: s.domain, verified_at: res.body.verified_at, keys: [{ kid: "k1", alg: "Ed25519", public_key: key.publicKey }] });
    // The standing proof: asking for a challenge now answers it, with no expiry.
    const standing = await c.post(`/v1/servers/${s.domain}/verification`, undefined, { token: s.token });
    expect(standing.body).toMatchObject({ challenge: ch, expires_at: null });
    // Checking again with the same proof changes nothing and publishes nothing.
    const again = await c.post(`/v1/servers/${s.domain}/verification/check`, undefined, { token: s.token });
    expect(again.body).toEqual(res.body);
    expect(await count("SELECT COUNT(*) AS n FROM events WHERE domain = ? AND type = 'server.updated'", [s.domain])).toBe(events + 1);
  });

  it("refuses a check without a pending challenge (422 no_challenge) without fetching anything", async () => {
    const s = await register();
    const fetched = docs.requests.length;
    const res = await c.post(`/v1/servers/${s.domain}/verification/check`, undefined, { token: s.token });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: "verification_failed", details: [{ reason: "no_challenge" }] });
    expect(docs.requests.length).toBe(fetched);
  });

  describe("every failure is a 422 with its reason, and changes nothing", () => {
    const cases: [string, (domain: string, challenge: string) => void | Promise<void>, RegExp][] = [
      ["http_status", () => undefined, /HTTP 404/],
      ["redirect", (d, ch) => {
        docs.set(`${d}.real`, { json: { domain: d, registrars: { [REG]: ch } } });
        docs.set(d, { redirect: `http://127.0.0.1:${docs.port}/${d}.real/.well-known/zent` });
      }, /redirect/],
      ["not_json", (d) => docs.set(d, { status: 200, body: "<html>it works</html>" }), /not JSON/],
      ["too_large", (d) => docs.set(d, { bytes: 65_537 }), /larger than 65536 bytes/],
      ["invalid_document", (d) => docs.set(d, { json: { domain: d, registrars: { [REG]: 7 } } }), /registrars/],
      ["wrong_domain", (d, ch) => docs.set(d, { json: { domain: "elsewhere.example.com", registrars: { [REG]: ch } } }), /domain/],
      ["challenge_missing", (d) => docs.set(d, { json: { domain: d, registrars: { [REG]: "A".repeat(43), "x.reg": "y" } } }), /does not hold the challenge/],
    ];
    it.each(cases)("%s", async (reason, setUp, text) => {
      const s = await register();
      const ch = (await c.post(`/v1/servers/${s.domain}/verification`, undefined, { token: s.token })).body.challenge;
      await setUp(s.domain, ch);
      const events = await count("SELECT COUNT(*) AS n FROM events");
      const res = await c.post(`/v1/servers/${s.domain}/verification/check`, undefined, { token: s.token });
      expect(res.status).toBe(422);
      expect(res.body.error.code).toBe("verification_failed");
      expect(res.body.error.details).toEqual([{ path: `http://127.0.0.1:${docs.port}/${s.domain}/.well-known/zent`, reason, message: expect.stringMatching(text) }]);
      expect((await c.get(`/v1/servers/${s.domain}`)).body.server).toMatchObject({ verified: false, verified_at: null });
      expect(await count("SELECT COUNT(*) AS n FROM events")).toBe(events);
      expect((await c.get(`/v1/servers/${s.domain}/keys`)).status).toBe(404);
    });

    it("unreachable: nothing listens where the document should be", async () => {
      const s = await register();
      await c.post(`/v1/servers/${s.domain}/verification`, undefined, { token: s.token });
      const closed = await DocumentServer.start();
      const port = closed.port;
      await closed.close();
      const other = await startRegistrar({ DATABASE_URL: dbUrl, REGISTRAR_ID: REG, ...trustEnv(docs), WELL_KNOWN_URL: `http://127.0.0.1:${port}/{domain}/.well-known/zent` });
      try {
        const res = await api(other.url).post(`/v1/servers/${s.domain}/verification/check`, undefined, { token: s.token });
        expect(res.status).toBe(422);
        expect(res.body.error.details).toEqual([{ path: expect.any(String), reason: "unreachable", message: "the connection was refused" }]);
        // The document URL is the configured template; the texts name no address the connection attempt used.
        expect(res.body.error.message).not.toMatch(/\d+\.\d+\.\d+\.\d+/);
      } finally {
        await other.stop();
      }
    });

    it("timeout: the document server never answers (5 s)", async () => {
      const s = await register();
      await c.post(`/v1/servers/${s.domain}/verification`, undefined, { token: s.token });
      docs.set(s.domain, { hang: true });
      const t0 = Date.now();
      const res = await c.post(`/v1/servers/${s.domain}/verification/check`, undefined, { token: s.token });
      expect(res.status).toBe(422);
      expect(res.body.error.details[0]).toMatchObject({ reason: "timeout", message: "no complete answer within 5 s" });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(4900);
      expect(Date.now() - t0).toBeLessThan(8000);
    }, 20_000);
  });

  it("keeps serving other requests while a check waits on a slow document", async () => {
    const s = await register();
    await c.post(`/v1/servers/${s.domain}/verification`, undefined, { token: s.token });
    docs.set(s.domain, { drip: { chunk: " ", everyMs: 100 } });
    const pending = c.post(`/v1/servers/${s.domain}/verification/check`, undefined, { token: s.token });
    // Heartbeats of the very server being checked are not held up by its check (the fetch is not in its mailbox).
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      expect((await c.post(`/v1/servers/${s.domain}/heartbeat`, undefined, { token: s.token })).status).toBe(200);
      expect(performance.now() - t0).toBeLessThan(500);
    }
    expect((await pending).body.error.details[0].reason).toBe("timeout");
  }, 20_000);
});

describe("re-checks (VERIFY_RECHECK_S, VERIFY_GRACE_S)", () => {
  const dbUrl = freshDatabaseUrl("trustrechk");
  let docs: DocumentServer;
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  let db: Awaited<ReturnType<typeof connect>>;
  beforeAll(async () => {
    docs = await DocumentServer.start();
    reg = await startRegistrar({ DATABASE_URL: dbUrl, REGISTRAR_ID: REG, ...trustEnv(docs, { VERIFY_RECHECK_S: "0.4", VERIFY_GRACE_S: "1" }) });
    c = api(reg.url);
    db = await connect(dbUrl);
  });
  afterAll(async () => {
    await db?.end();
    await reg?.stop();
    await docs?.close();
    await dropDatabase(dbUrl);
  });

  it("turns verified false once the proof is missing longer than the grace (event, audit row), and back when it returns", async () => {
    const s = await verifiedServer(reg.url, docs, REG);
    const doc = docs.get(s.domain)!;
    docs.set(s.domain, { status: 404 });
    const missingSince = Date.now();
    // Within the grace it stays verified.
    await vi.waitFor(async () => expect(docs.requests.filter((d) => d === s.domain).length).toBeGreaterThanOrEqual(3), { timeout: 5000, interval: 50 });
    await vi.waitFor(async () => expect((await c.get(`/v1/servers/${s.domain}`)).body.server.verified).toBe(false), { timeout: 5000, interval: 50 });
    expect(Date.now() - missingSince).toBeGreaterThanOrEqual(1000);
    const [rows] = await db.query<RowDataPacket[]>("SELECT type, data FROM events WHERE domain = ? ORDER BY seq", [s.domain]);
    expect(JSON.parse(rows.at(-1)!.data)).toMatchObject({ verified: false, verified_at: null });
    const [audit] = await db.query<RowDataPacket[]>("SELECT actor, detail FROM audit_log WHERE domain = ? AND action = 'server.unverify'", [s.domain]);
    expect(audit).toHaveLength(1);
    expect(audit[0].actor).toBe("system:recheck");
    expect(JSON.parse(audit[0].detail)).toMatchObject({ verified: false, reason: "http_status" });
    expect((await c.get(`/v1/servers/${s.domain}/keys`)).status).toBe(404);
    // The document comes back with the standing challenge: verified again at the next re-check.
    docs.set(s.domain, doc);
    await vi.waitFor(async () => expect((await c.get(`/v1/servers/${s.domain}`)).body.server.verified).toBe(true), { timeout: 5000, interval: 50 });
    expect((await c.get(`/v1/servers/${s.domain}/keys`)).status).toBe(200);
  });

  it("stays verified through a short outage within the grace", async () => {
    const s = await verifiedServer(reg.url, docs, REG);
    const doc = docs.get(s.domain)!;
    docs.set(s.domain, { status: 503 });
    const seen = docs.requests.filter((d) => d === s.domain).length;
    await vi.waitFor(() => expect(docs.requests.filter((d) => d === s.domain).length).toBeGreaterThan(seen), { timeout: 3000, interval: 20 });
    docs.set(s.domain, doc);
    await quietFor(1500); // absence check: no lapse happens after the proof came back
    expect((await c.get(`/v1/servers/${s.domain}`)).body.server.verified).toBe(true);
    const [audit] = await db.query<RowDataPacket[]>("SELECT id FROM audit_log WHERE domain = ? AND action = 'server.unverify'", [s.domain]);
    expect(audit).toHaveLength(0);
  });

  it("picks up a key rotation at the domain at the next re-check", async () => {
    const s = await verifiedServer(reg.url, docs, REG);
    const ch = (await c.post(`/v1/servers/${s.domain}/verification`, undefined, { token: s.token })).body.challenge;
    const next = await generateIdentityKey();
    await publish(docs, s.domain, { [REG]: ch }, [{ kid: "k2", key: next }]);
    await vi.waitFor(async () => {
      const keys = (await c.get(`/v1/servers/${s.domain}/keys`)).body;
      expect(keys.keys).toEqual([expect.objectContaining({ kid: "k2", public_key: next.publicKey })]);
    }, { timeout: 5000, interval: 50 });
  });
});
