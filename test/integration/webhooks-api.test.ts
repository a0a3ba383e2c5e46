// Webhook management routes (issue 4): register, list, delete, deliveries listing; auth, limits, validation and
// the SSRF refusal of private, loopback and link-local targets.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

const RECEIVER = "http://127.0.0.1:9/hook"; // never called: these tests do not trigger events after registering

async function register(c: ReturnType<typeof api>) {
  const s = newServer();
  const r = await c.post("/v1/servers", s);
  expect(r.status).toBe(201);
  return { domain: s.domain, token: r.body.token as string };
}

describe("webhook routes with ALLOW_PRIVATE_WEBHOOKS=true", () => {
  const dbUrl = freshDatabaseUrl("whapi");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, ALLOW_PRIVATE_WEBHOOKS: "true", ALLOW_INSECURE_URLS: "true", RATE_LIMIT_REGISTER: "off" });
    c = api(reg.url);
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("registers a webhook, answers the secret once, lists it without the secret and deletes it", async () => {
    const s = await register(c);
    const created = await c.post(`/v1/servers/${s.domain}/webhooks`, { url: RECEIVER }, { token: s.token });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(created.body.webhook).toEqual({ id: expect.stringMatching(/^wh_[0-9a-f]{24}$/), url: RECEIVER, events: null, created_at: expect.any(String), paused_until: null });
    expect(created.body.webhook.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const list = await c.get(`/v1/servers/${s.domain}/webhooks`, { token: s.token });
    expect(list.status).toBe(200);
    expect(list.body).toEqual({ webhooks: [created.body.webhook] });
    expect(list.text).not.toContain(created.body.secret);
    const deliveries = await c.get(`/v1/servers/${s.domain}/webhooks/${created.body.webhook.id}/deliveries`, { token: s.token });
    expect(deliveries.status).toBe(200);
    expect(deliveries.body).toEqual({ deliveries: [], limit: 50, offset: 0 });
    const del = await c.del(`/v1/servers/${s.domain}/webhooks/${created.body.webhook.id}`, { token: s.token });
    expect(del.status).toBe(204);
    expect((await c.get(`/v1/servers/${s.domain}/webhooks`, { token: s.token })).body).toEqual({ webhooks: [] });
    const again = await c.del(`/v1/servers/${s.domain}/webhooks/${created.body.webhook.id}`, { token: s.token });
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe("not_found");
  });

  it("keeps the event filter a webhook was registered with", async () => {
    const s = await register(c);
    const r = await c.post(`/v1/servers/${s.domain}/webhooks`, { url: RECEIVER, events: ["rating.created", "server.status"] }, { token: s.token });
    expect(r.status).toBe(201);
    expect(r.body.webhook.events).toEqual(["rating.created", "server.status"]);
    expect((await c.get(`/v1/servers/${s.domain}/webhooks`, { token: s.token })).body.webhooks[0].events).toEqual(["rating.created", "server.status"]);
  });

  it("refuses a sixth webhook for one server with validation_failed and creates nothing", async () => {
    const s = await register(c);
    for (let i = 0; i < 5; i++) {
      expect((await c.post(`/v1/servers/${s.domain}/webhooks`, { url: `${RECEIVER}${i}` }, { token: s.token })).status).toBe(201);
    }
    const sixth = await c.post(`/v1/servers/${s.domain}/webhooks`, { url: RECEIVER }, { token: s.token });
    expect(sixth.status).toBe(400);
    expect(sixth.body.error.code).toBe("validation_failed");
    expect(sixth.body.error.message).toMatch(/at most 5 webhooks/);
    expect((await c.get(`/v1/servers/${s.domain}/webhooks`, { token: s.token })).body.webhooks).toHaveLength(5);
  });

  it("holds the limit of 5 under concurrent registrations", async () => {
    const s = await register(c);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => c.post(`/v1/servers/${s.domain}/webhooks`, { url: `${RECEIVER}c${i}` }, { token: s.token })),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(5);
    expect(results.filter((r) => r.status === 400)).toHaveLength(3);
    expect((await c.get(`/v1/servers/${s.domain}/webhooks`, { token: s.token })).body.webhooks).toHaveLength(5);
  });

  it("answers 401 unauthorized for a missing, wrong or foreign token and for an unknown domain", async () => {
    const s = await register(c);
    const other = await register(c);
    const hook = await c.post(`/v1/servers/${s.domain}/webhooks`, { url: RECEIVER }, { token: s.token });
    const id = hook.body.webhook.id;
    const calls = [
      () => c.post(`/v1/servers/${s.domain}/webhooks`, { url: RECEIVER }),
      () => c.post(`/v1/servers/${s.domain}/webhooks`, { url: RECEIVER }, { token: "f".repeat(64) }),
      () => c.post(`/v1/servers/${s.domain}/webhooks`, { url: RECEIVER }, { token: other.token }),
      () => c.get(`/v1/servers/${s.domain}/webhooks`, { token: other.token }),
      () => c.get(`/v1/servers/${s.domain}/webhooks`, { headers: { authorization: "Basic abc" } }),
      () => c.del(`/v1/servers/${s.domain}/webhooks/${id}`, { token: other.token }),
      () => c.get(`/v1/servers/${s.domain}/webhooks/${id}/deliveries`, { token: other.token }),
      () => c.get(`/v1/servers/nope-${Date.now()}.example.com/webhooks`, { token: s.token }),
    ];
    for (const call of calls) {
      const r = await call();
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe("unauthorized");
    }
    // Nothing changed: still exactly the one webhook.
    expect((await c.get(`/v1/servers/${s.domain}/webhooks`, { token: s.token })).body.webhooks.map((w: any) => w.id)).toEqual([id]);
  });

  it("does not let one server reach another server's webhook by id", async () => {
    const s = await register(c);
    const other = await register(c);
    const hook = await c.post(`/v1/servers/${s.domain}/webhooks`, { url: RECEIVER }, { token: s.token });
    const id = hook.body.webhook.id;
    expect((await c.del(`/v1/servers/${other.domain}/webhooks/${id}`, { token: other.token })).status).toBe(404);
    expect((await c.get(`/v1/servers/${other.domain}/webhooks/${id}/deliveries`, { token: other.token })).status).toBe(404);
    expect((await c.del(`/v1/servers/${s.domain}/webhooks/not-an-id`, { token: s.token })).status).toBe(404);
    expect((await c.get(`/v1/servers/${s.domain}/webhooks`, { token: s.token })).body.webhooks).toHaveLength(1);
  });

  it("answers 401 token_expired once the token is past its expiry", async () => {
    const s = await register(c);
    const sql = await connect(dbUrl);
    try {
      await sql.query("UPDATE servers SET token_expires_at = ? WHERE domain = ?", [new Date(Date.now() - 1000), s.domain]);
    } finally {
      await sql.end();
    }
    const r = await c.get(`/v1/servers/${s.domain}/webhooks`, { token: s.token });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe("token_expired");
  });

  it("answers 403 not_owner for a mirrored record, whatever token is sent", async () => {
    const domain = `mirror${Date.now().toString(36)}.example.org`;
    const sql = await connect(dbUrl);
    try {
      await sql.query(
        `INSERT INTO servers (domain, origin, name, api_url, protocols, capabilities, last_seen, created_at, updated_at)
         VALUES (?, 'peer.example.net', 'Mirrored', ?, '[]', '[]', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))`,
        [domain, `https://${domain}/api`],
      );
    } finally {
      await sql.end();
    }
    for (const token of [undefined, "a".repeat(64)]) {
      const r = await c.post(`/v1/servers/${domain}/webhooks`, { url: RECEIVER }, { token });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe("not_owner");
    }
  });

  it("refuses bad bodies with validation_failed and details", async () => {
    const s = await register(c);
    const cases: [unknown, string][] = [
      [{}, "url"],
      [{ url: "ftp://example.com/hook" }, "url"],
      [{ url: "not a url" }, "url"],
      [{ url: "https://user:pw@example.com/hook" }, "url"],
      [{ url: RECEIVER, secret: "mine" }, "secret"],
      [{ url: RECEIVER, events: [] }, "events"],
      [{ url: RECEIVER, events: ["server.registered"] }, "events.0"],
      [{ url: RECEIVER, events: ["rating.created", "rating.created"] }, "events"],
    ];
    for (const [body, path] of cases) {
      const r = await c.post(`/v1/servers/${s.domain}/webhooks`, body, { token: s.token });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe("validation_failed");
      expect(r.body.error.details.map((d: any) => d.path)).toContain(path);
    }
    expect((await c.post(`/v1/servers/${s.domain}/webhooks`, "{", { token: s.token })).body.error.code).toBe("invalid_json");
    expect((await c.get(`/v1/servers/${s.domain}/webhooks`, { token: s.token })).body.webhooks).toEqual([]);
  });

  it("removes a server's webhooks with the server", async () => {
    const s = await register(c);
    expect((await c.post(`/v1/servers/${s.domain}/webhooks`, { url: RECEIVER }, { token: s.token })).status).toBe(201);
    expect((await c.del(`/v1/servers/${s.domain}`, { token: s.token })).status).toBe(204);
    const sql = await connect(dbUrl);
    try {
      const [[row]] = (await sql.query("SELECT COUNT(*) AS n FROM webhooks WHERE domain = ?", [s.domain])) as any;
      expect(Number(row.n)).toBe(0);
    } finally {
      await sql.end();
    }
  });

  it("answers 405 with Allow for a wrong method", async () => {
    const s = await register(c);
    const r = await c.put(`/v1/servers/${s.domain}/webhooks`, {}, { token: s.token });
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toContain("POST");
  });
});

describe("webhook URLs without ALLOW_PRIVATE_WEBHOOKS", () => {
  const dbUrl = freshDatabaseUrl("whssrf");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  beforeAll(async () => {
    // Insecure URLs are allowed so that the SSRF guard, not the scheme or localhost rule, is what refuses.
    reg = await startRegistrar({ DATABASE_URL: dbUrl, ALLOW_INSECURE_URLS: "true", RATE_LIMIT_REGISTER: "off" });
    c = api(reg.url);
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it.each([
    ["loopback", "http://127.0.0.1:8080/hook"],
    ["private 10/8", "https://10.0.0.1/hook"],
    ["private 192.168/16", "https://192.168.1.20/hook"],
    ["cloud metadata (link-local)", "http://169.254.169.254/latest/meta-data"],
    ["IPv6 loopback", "http://[::1]:8080/hook"],
    ["IPv4-mapped IPv6 loopback", "http://[::ffff:127.0.0.1]/hook"],
    ["unspecified", "http://0.0.0.0/hook"],
    ["CGNAT", "https://100.64.0.1/hook"],
    ["IPv6 unique local", "https://[fd00::1]/hook"],
    ["decimal spelling of 127.0.0.1", "http://2130706433/hook"],
    ["a name resolving to loopback", "http://localhost:8080/hook"],
  ])("refuses a %s target with validation_failed", async (_label, url) => {
    const s = await register(c);
    const r = await c.post(`/v1/servers/${s.domain}/webhooks`, { url }, { token: s.token });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("validation_failed");
    expect(r.body.error.details[0].path).toBe("url");
    expect(r.body.error.details[0].message).toMatch(/private, loopback, link-local or reserved/);
    expect((await c.get(`/v1/servers/${s.domain}/webhooks`, { token: s.token })).body.webhooks).toEqual([]);
  });

  it("accepts a public address", async () => {
    const s = await register(c);
    const r = await c.post(`/v1/servers/${s.domain}/webhooks`, { url: "https://93.184.215.14/hook" }, { token: s.token });
    expect(r.status).toBe(201);
  });
});
