// WebSocket sessions authenticate later heartbeats by the token they identified with (without re-hashing it):
// rotating that token must end the session at its next heartbeat (contract §3: the old token stops at once).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { TestSocket } from "../support/ws-test-client.js";

describe("a WebSocket session whose token is rotated", () => {
  const dbUrl = freshDatabaseUrl("wsrot");
  let reg: InProcessRegistrar;
  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, WS_RATE_LIMIT: "off" });
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("acknowledges heartbeats until the rotation, then closes with 4001; the new token identifies again", async () => {
    const c = api(reg.url);
    const body = newServer();
    const created = await c.post("/v1/servers", body);
    const s = await TestSocket.open(reg.url, "/v1/ws/server");
    await s.next((m) => m.op === "hello");
    s.send({ op: "identify", domain: body.domain, token: created.body.token, protocol: 1 });
    await s.next((m) => m.op === "ready");
    s.send({ op: "heartbeat", seq: 1, stats: { user_count: 3 } });
    expect((await s.next((m) => m.op === "heartbeat_ack")).seq).toBe(1);
    expect((await c.get(`/v1/servers/${body.domain}`)).body.server.user_count).toBe(3);

    const rotated = await c.post(`/v1/servers/${body.domain}/token`, undefined, { token: created.body.token });
    expect(rotated.status).toBe(200);
    s.send({ op: "heartbeat", seq: 2, stats: { user_count: 9 } });
    expect((await s.closed).code).toBe(4001);
    expect((await c.get(`/v1/servers/${body.domain}`)).body.server.user_count).toBe(3);

    const again = await TestSocket.open(reg.url, "/v1/ws/server");
    await again.next((m) => m.op === "hello");
    again.send({ op: "identify", domain: body.domain, token: rotated.body.token, protocol: 1 });
    await again.next((m) => m.op === "ready");
    again.ws.close();
  });
});
