// GET /v1/openapi.json as served: generated from the node's own route table, so it lists exactly the /v1 routes the
// node mounted (the admin routes only with ADMIN_TOKEN), under PATH_PREFIX too, and refuses other methods.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openApiDocument } from "../../src/http/openapi/document.js";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { routeTable } from "../support/route-table.js";

describe("GET /v1/openapi.json", () => {
  const dbUrl = freshDatabaseUrl("openapi");
  let withAdmin: InProcessRegistrar;
  let plain: InProcessRegistrar;

  beforeAll(async () => {
    withAdmin = await startRegistrar({ DATABASE_URL: dbUrl, NODE_ID: "openapi-a", ADMIN_TOKEN: "a".repeat(64), PATH_PREFIX: "/registrar" });
    plain = await startRegistrar({ DATABASE_URL: dbUrl, NODE_ID: "openapi-b" });
  });
  afterAll(async () => {
    await withAdmin?.stop();
    await plain?.stop();
    await dropDatabase(dbUrl);
  });

  it("describes every route the node mounted, the same document the route table gives", async () => {
    const res = await api(withAdmin.url).get("/v1/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.body.openapi).toBe("3.1.0");
    expect(res.body.servers).toEqual([{ url: "/registrar" }]);
    const local = openApiDocument(routeTable(), { version: res.body.info.version, prefix: "/registrar" }) as any;
    expect(Object.keys(res.body.paths).sort()).toEqual(Object.keys(local.paths).sort());
    expect(res.body).toEqual(local);
    const prefixed = await fetch(`${withAdmin.url}/registrar/v1/openapi.json`);
    expect(await prefixed.json()).toEqual(res.body);
  });

  it("leaves out the admin routes where they are not mounted (no ADMIN_TOKEN)", async () => {
    const res = await api(plain.url).get("/v1/openapi.json");
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.paths).filter((p) => p.startsWith("/v1/admin"))).toEqual([]);
    expect(res.body.paths["/v1/servers/{domain}"]).toBeDefined();
    expect(res.body.servers).toEqual([{ url: "/" }]);
  });

  it("answers HEAD without a body and refuses writes with 405 and Allow", async () => {
    const head = await fetch(`${plain.url}/v1/openapi.json`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    const post = await api(plain.url).post("/v1/openapi.json", { paths: {} });
    expect(post.status).toBe(405);
    expect(post.body.error.code).toBe("method_not_allowed");
    expect(post.headers.get("allow")).toBe("GET, HEAD, OPTIONS");
    expect((await api(plain.url).get("/v1/openapi.json")).body.paths["/v1/servers"]).toBeDefined();
  });
});
