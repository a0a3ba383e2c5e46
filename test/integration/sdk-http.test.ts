// The SDK's RegistrarClient: one typed call per route, against a real node, and the error envelope as an exception.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RegistrarApiError, RegistrarClient } from "../../client/index.js";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

describe("RegistrarClient", () => {
  const dbUrl = freshDatabaseUrl("sdkhttp");
  let reg: InProcessRegistrar;
  let http: RegistrarClient;

  beforeAll(async () => {
    reg = await startRegistrar({
      DATABASE_URL: dbUrl, RATE_LIMIT_REGISTER: "off", RATE_LIMIT_LIST: "2/60", RATINGS_ANONYMOUS: "true",
      ALLOW_INSECURE_URLS: "true", ALLOW_PRIVATE_WEBHOOKS: "true",
    });
    http = new RegistrarClient({ baseUrl: `${reg.url}/`, headers: { "x-request-id": "sdk-test-1" } });
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("registers, reads, updates, heartbeats, rotates, rates and deletes a server through typed calls", async () => {
    const body = newServer({ description: "first" });
    const created = await http.registerServer(body);
    expect(created.token).toMatch(/^[0-9a-f]{64}$/);
    expect(created.server).toMatchObject({ domain: body.domain, status: "online", rating: { average: null, count: 0 } });

    expect((await http.getServer(body.domain.toUpperCase())).domain).toBe(body.domain);
    const updated = await http.updateServer(body.domain, created.token, { description: null, capabilities: ["voice"] });
    expect([updated.description, updated.capabilities]).toEqual([null, ["voice"]]);

    const hb = await http.heartbeat(body.domain, created.token, { user_count: 9 });
    expect(hb).toMatchObject({ status: "online", next_heartbeat_s: expect.any(Number) });
    expect(await http.heartbeat(body.domain, created.token)).toMatchObject({ status: "online" });
    expect((await http.serverHealth(body.domain)).status).toBe("online");

    const rotated = await http.rotateToken(body.domain, created.token);
    await expect(http.heartbeat(body.domain, created.token)).rejects.toMatchObject({ status: 401, code: "unauthorized" });

    expect(await http.rateServer(body.domain, { user_id: "u1", rating: 5 })).toMatchObject({ created: true, rating: { rating: 5 } });
    expect(await http.rateServer(body.domain, { user_id: "u1", rating: 3, comment: "meh" })).toMatchObject({ created: false, rating: { rating: 3 } });
    const ratings = await http.listRatings(body.domain, { limit: 10 });
    expect([ratings.average, ratings.count, ratings.limit, ratings.ratings.length]).toEqual([3, 1, 10, 1]);

    const list = await http.listServers({ q: body.domain, sort: "name", verified: false, limit: 5 });
    expect(list.servers.map((s) => s.domain)).toEqual([body.domain]);
    expect([list.total, list.limit, list.offset]).toEqual([1, 5, 0]);

    await http.deleteServer(body.domain, rotated.token);
    await expect(http.getServer(body.domain)).rejects.toMatchObject({ status: 404, code: "not_found" });
  });

  it("manages webhooks and reads their deliveries", async () => {
    const s = await http.registerServer(newServer());
    const domain = s.server.domain;
    const made = await http.createWebhook(domain, s.token, { url: "http://127.0.0.1:9/hook", events: ["rating.created"] });
    expect(made.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(made.webhook).toMatchObject({ id: expect.stringMatching(/^wh_/), events: ["rating.created"] });
    expect(await http.listWebhooks(domain, s.token)).toEqual([made.webhook]);
    expect(await http.listWebhookDeliveries(domain, s.token, made.webhook.id, { limit: 5 })).toEqual({ deliveries: [], limit: 5, offset: 0 });
    await http.deleteWebhook(domain, s.token, made.webhook.id);
    expect(await http.listWebhooks(domain, s.token)).toEqual([]);
  });

  it("reads node health and metrics", async () => {
    const health = await http.health();
    expect(health).toMatchObject({ status: "ok", checks: { mysql: "ok" } });
    expect(await http.metrics()).toContain("registrar_heartbeats_total");
  });

  it("throws RegistrarApiError with the envelope's code, details, Retry-After and request id", async () => {
    const err = await http.registerServer({ domain: "nope", name: "", api_url: "ftp://x" }).catch((e) => e);
    expect(err).toBeInstanceOf(RegistrarApiError);
    expect(err).toMatchObject({ status: 400, code: "validation_failed", requestId: "sdk-test-1" });
    expect(err.details.map((d: { path: string }) => d.path)).toEqual(expect.arrayContaining(["domain", "name"]));

    const limited = await (async () => {
      for (let i = 0; i < 5; i++) await http.listServers();
    })().catch((e) => e);
    expect(limited).toMatchObject({ status: 429, code: "rate_limited" });
    expect(limited.retryAfterS).toBeGreaterThanOrEqual(1);
  });
});
