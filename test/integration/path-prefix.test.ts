// PATH_PREFIX (contract §7): every route of both dialects, the WebSockets and the probes are also served under the
// prefix, for a registrar placed under a path of another site; the unprefixed routes keep working.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { identified, TestSocket } from "../support/ws-test-client.js";

describe("PATH_PREFIX=/registrar", () => {
  const dbUrl = freshDatabaseUrl("prefix");
  let reg: InProcessRegistrar;
  let p: ReturnType<typeof api>;
  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, PATH_PREFIX: "/registrar", RATE_LIMIT_REGISTER: "off", RATE_LIMIT_LIST: "off" });
    p = api(`${reg.url}/registrar`);
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("serves /v1 under the prefix, and the same records without it", async () => {
    const body = newServer();
    const res = await p.post("/v1/servers", body);
    expect(res.status).toBe(201);
    expect((await p.get(`/v1/servers/${body.domain}`)).body.server.domain).toBe(body.domain);
    expect((await api(reg.url).get(`/v1/servers/${body.domain}`)).status).toBe(200);
    expect((await p.post(`/v1/servers/${body.domain}/heartbeat`, {}, { token: res.body.token })).status).toBe(200);
    expect((await p.get("/v1/health")).status).toBe(200);
  });

  it("serves the legacy dialect under the prefix, with a successor link under the prefix too", async () => {
    const domain = `pfx${Date.now().toString(36)}.example.com`;
    const res = await fetch(`${reg.url}/registrar/servers`, {
      method: "POST",
      body: JSON.stringify({ domain, name: "Prefixed", apiUrl: `https://${domain}/api`, wsUrl: `wss://${domain}/ws` }),
    });
    expect(res.status).toBe(201);
    const { serverToken } = await res.json();
    const row = await fetch(`${reg.url}/registrar/servers/${domain}`);
    expect(row.headers.get("link")).toBe(`</registrar/v1/servers/${domain}>; rel="successor-version"`);
    expect((await row.json()).domain).toBe(domain);
    const hb = await fetch(`${reg.url}/registrar/servers/${domain}/heartbeat/`, { method: "POST", headers: { authorization: `Bearer ${serverToken}` } });
    expect(hb.status).toBe(204);
    expect(await (await fetch(`${reg.url}/registrar/health`)).json()).toEqual({ status: "ok", service: "registrar" });
  });

  it("serves the WebSocket session and the feed under the prefix", async () => {
    const body = newServer();
    const res = await p.post("/v1/servers", body);
    const s = await identified(`${reg.url}/registrar`, body.domain, res.body.token);
    s.close();
    const feed = await TestSocket.open(reg.url, "/registrar/v1/feed");
    expect((await feed.op("hello")).last_seq).toBeGreaterThan(0);
    feed.close();
  });

  it("serves the web directory under the prefix too", async () => {
    for (const path of ["/registrar/", "/registrar"]) {
      const res = await fetch(`${reg.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    }
  });

  it("links every page under the prefix it was asked for under, and each link answers 200", async () => {
    // A server whose description holds a root-relative-looking attribute: record text stays escaped, never rewritten.
    const body = newServer({ description: 'see href="/elsewhere" and src="/x"' });
    expect((await p.post("/v1/servers", body)).status).toBe(201);
    const rootRelative = (page: string) => [...page.matchAll(/\s(?:href|src|action|data-feed)="(\/[^"]*)"/g)].map((m) => m[1].replaceAll("&amp;", "&"));
    const pages = ["/registrar/", "/registrar", `/registrar/server/${body.domain}`, "/registrar/server/no-such-server.example.com"];
    const seen = new Set<string>();
    for (const path of pages) {
      const page = await (await fetch(`${reg.url}${path}`)).text();
      const urls = rootRelative(page);
      expect(urls.length, path).toBeGreaterThan(2);
      for (const u of urls) expect(u, `${path} links ${u}`).toMatch(/^\/registrar\//);
      expect(page, path).toContain('data-feed="/registrar/v1/feed"');
      expect(page).not.toContain('href="/elsewhere"');
      for (const u of urls) seen.add(u);
    }
    expect([...seen].some((u) => u.startsWith(`/registrar/server/${body.domain}`))).toBe(true);
    expect([...seen].some((u) => u.startsWith("/registrar/assets/"))).toBe(true);
    for (const u of seen) {
      if (u === "/registrar/v1/feed") continue; // a WebSocket (opened under the prefix in the test above)
      expect((await fetch(`${reg.url}${u}`)).status, u).toBe(200);
    }
    // Without the prefix, the same pages link at the root.
    const plain = await (await fetch(`${reg.url}/`)).text();
    expect(rootRelative(plain).filter((u) => u.startsWith("/registrar"))).toEqual([]);
    expect(plain).toContain('data-feed="/v1/feed"');
  });

  it("does not serve look-alike prefixes", async () => {
    expect((await fetch(`${reg.url}/registrarx/servers`)).status).toBe(404);
    expect((await fetch(`${reg.url}/registrar/registrar/servers`)).status).toBe(404);
  });
});

describe("PATH_PREFIX values", () => {
  it("accepts a path of one or more segments and refuses anything else, naming the variable", () => {
    expect(loadConfig({ PATH_PREFIX: "/registrar" }).pathPrefix).toBe("/registrar");
    expect(loadConfig({ PATH_PREFIX: "/a/b-c_d.e" }).pathPrefix).toBe("/a/b-c_d.e");
    expect(loadConfig({}).pathPrefix).toBe("");
    for (const bad of ["registrar", "/", "/registrar/", "/a//b", "/v1", "/a b", "/%2e%2e", "/.."]) {
      expect(() => loadConfig({ PATH_PREFIX: bad }), bad).toThrow(ConfigError);
      expect(() => loadConfig({ PATH_PREFIX: bad }), bad).toThrow(/PATH_PREFIX/);
    }
  });
});
