import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

describe("a single registrar node", () => {
  const dbUrl = freshDatabaseUrl("smoke");
  let reg: InProcessRegistrar;
  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl });
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("registers a server, takes its heartbeat and lists it", async () => {
    const c = api(reg.url);
    const body = newServer();
    const created = await c.post("/v1/servers", body);
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^[0-9a-f]{64}$/);
    const hb = await c.post(`/v1/servers/${body.domain}/heartbeat`, { user_count: 7 }, { token: created.body.token });
    expect(hb.status).toBe(200);
    const list = await c.get("/v1/servers");
    expect(list.body.servers.map((s: any) => [s.domain, s.user_count])).toEqual([[body.domain, 7]]);
  });
});
