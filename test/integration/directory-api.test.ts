// Contract §9.2 over real HTTP: web_url, languages and registration with their filters, ETag/If-None-Match → 304,
// gzip/brotli bodies that decode to the same JSON, and X-Registrar-Seq lined up with /v1/feed (list, then follow).
import { request } from "node:http";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { TestSocket } from "../support/ws-test-client.js";

/** A GET with exactly these headers (fetch would add and strip Accept-Encoding itself). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("directory API additions (§9.2)", () => {
  const dbUrl = freshDatabaseUrl("dirapi");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  const tokens = new Map<string, string>();

  const register = async (overrides: Record<string, unknown> = {}) => {
    const body = newServer(overrides);
    const res = await c.post("/v1/servers", body);
    expect(res.status, res.text).toBe(201);
    tokens.set(res.body.server.domain, res.body.token);
    return res.body.server as Record<string, any>;
  };
  const expect400 = async (res: { status: number; body: any }, path: string) => {
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe("validation_failed");
    expect(res.body.error.details.map((d: any) => d.path)).toContain(path);
  };

  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, RATE_LIMIT_LIST: "off", RATE_LIMIT_REGISTER: "off", RATE_LIMIT_RATE: "off", RATINGS_ANONYMOUS: "true" });
    c = api(reg.url);
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  describe("web_url, languages, registration", () => {
    it("stores them, with language tags in canonical case, and serves them in the record", async () => {
      const probe = newServer();
      const s = await register({ ...probe, web_url: `https://www.${probe.domain}/`, languages: ["EN", "pt-br", "zh-hant-tw"], registration: "approval" });
      expect(s.web_url).toBe(`https://www.${probe.domain}/`);
      expect(s.languages).toEqual(["en", "pt-BR", "zh-Hant-TW"]);
      expect(s.registration).toBe("approval");
      expect((await c.get(`/v1/servers/${s.domain}`)).body.server).toMatchObject({ languages: ["en", "pt-BR", "zh-Hant-TW"], registration: "approval" });
    });

    it("changes and clears them with PUT (null clears, [] empties the list), and keeps them over a restart", async () => {
      const s = await register({ languages: ["de"], registration: "open" });
      const token = tokens.get(s.domain)!;
      let res = await c.put(`/v1/servers/${s.domain}`, { web_url: `https://${s.domain}/home`, languages: ["fr", "de"], registration: null }, { token });
      expect(res.status, res.text).toBe(200);
      expect(res.body.server).toMatchObject({ web_url: `https://${s.domain}/home`, languages: ["fr", "de"], registration: null });
      res = await c.put(`/v1/servers/${s.domain}`, { web_url: null, languages: [] }, { token });
      expect(res.body.server).toMatchObject({ web_url: null, languages: [] });
      await c.put(`/v1/servers/${s.domain}`, { languages: ["it"], registration: "invite" }, { token });
      await reg.stop();
      reg = await startRegistrar({ DATABASE_URL: dbUrl, RATE_LIMIT_LIST: "off", RATE_LIMIT_REGISTER: "off", RATE_LIMIT_RATE: "off", RATINGS_ANONYMOUS: "true" });
      c = api(reg.url);
      expect((await c.get(`/v1/servers/${s.domain}`)).body.server).toMatchObject({ web_url: null, languages: ["it"], registration: "invite" });
    });

    it("refuses each broken value with validation_failed and stores nothing", async () => {
      const p = newServer();
      const cases: [Record<string, unknown>, string][] = [
        [{ web_url: "https://elsewhere.example/" }, "web_url"],
        [{ web_url: `http://${p.domain}/` }, "web_url"],
        [{ web_url: `https://${p.domain}/${"x".repeat(2048)}` }, "web_url"],
        [{ languages: ["en", "EN"] }, "languages.1"],
        [{ languages: ["english"] }, "languages.0"],
        [{ languages: ["en-"] }, "languages.0"],
        [{ languages: ["<b>"] }, "languages.0"],
        [{ languages: ["a", "b", "c", "d", "e", "f", "g", "h", "i"].map((x) => `${x}${x}`) }, "languages"],
        [{ languages: "en" }, "languages"],
        [{ registration: "OPEN" }, "registration"],
        [{ registration: "anyone" }, "registration"],
        [{ uptime_30d: 1 }, "uptime_30d"],
      ];
      for (const [extra, path] of cases) await expect400(await c.post("/v1/servers", { ...p, ...extra }), path);
      expect((await c.get(`/v1/servers/${p.domain}`)).status).toBe(404);
      const s = await register();
      const token = tokens.get(s.domain)!;
      await expect400(await c.put(`/v1/servers/${s.domain}`, { name: "renamed", registration: "maybe" }, { token }), "registration");
      expect((await c.get(`/v1/servers/${s.domain}`)).body.server.name).toBe(s.name);
    });

    it("filters listings by language (a tag matches its more specific tags) and by registration policy", async () => {
      const tag = `x${Date.now().toString(36).slice(-2)}`.replace(/[^a-z]/g, "q").slice(0, 3).padEnd(3, "q");
      const a = await register({ languages: [`${tag}-BR`], registration: "closed" });
      const b = await register({ languages: [tag, "en"], registration: "open" });
      const d = await register({ languages: ["en"], registration: "closed" });
      const list = async (q: string) => {
        const res = await c.get(`/v1/servers?limit=100&${q}`);
        expect(res.status, res.text).toBe(200);
        return res.body as { servers: { domain: string }[]; total: number };
      };
      const domainsOf = (l: { servers: { domain: string }[] }) => l.servers.map((s) => s.domain).sort();
      let l = await list(`language=${tag}`);
      expect(domainsOf(l)).toEqual([a.domain, b.domain].sort());
      expect(l.total).toBe(2);
      l = await list(`language=${tag}-br`);
      expect(domainsOf(l)).toEqual([a.domain]);
      l = await list(`language=${tag}&registration=closed`);
      expect(domainsOf(l)).toEqual([a.domain]);
      l = await list(`registration=closed&q=${encodeURIComponent(d.domain)}`);
      expect(domainsOf(l)).toEqual([d.domain]);
      expect(l.total).toBe(1);
      for (const bad of ["language=english", "language=", "registration=Open", "registration=any", "include_dead=1"]) {
        const res = await c.get(`/v1/servers?${bad}`);
        expect(res.status, bad).toBe(400);
        expect(res.body.error.code).toBe("validation_failed");
      }
    });
  });

  describe("validators and compression", () => {
    it("answers ETag on listings, records, ratings and uptime, and 304 with no body to a current If-None-Match", async () => {
      const s = await register();
      await c.post(`/v1/servers/${s.domain}/rate`, { user_id: "etag-rater", rating: 4 });
      for (const path of ["/v1/servers?limit=5", `/v1/servers/${s.domain}`, `/v1/servers/${s.domain}/ratings`, `/v1/servers/${s.domain}/uptime?days=3`]) {
        const first = await rawGet(reg.url + path, {});
        expect(first.status, path).toBe(200);
        const etag = first.headers.etag as string;
        expect(etag, path).toMatch(/^W\/"[A-Za-z0-9_-]{22}"$/);
        const again = await rawGet(reg.url + path, { "if-none-match": etag });
        expect(again.status, path).toBe(304);
        expect(again.body.length).toBe(0);
        expect(again.headers.etag).toBe(etag);
        expect((await rawGet(reg.url + path, { "if-none-match": `"stale", ${etag}` })).status, path).toBe(304);
        expect((await rawGet(reg.url + path, { "if-none-match": 'W/"stale"' })).status, path).toBe(200);
      }
    });

    it("gives a listing a new ETag when it changes", async () => {
      const path = "/v1/servers?sort=created&limit=3";
      const before = (await rawGet(reg.url + path, {})).headers.etag as string;
      await register();
      const after = await rawGet(reg.url + path, { "if-none-match": before });
      expect(after.status).toBe(200);
      expect(after.headers.etag).not.toBe(before);
    });

    it("compresses bodies over 1 KiB with brotli or gzip as Accept-Encoding allows, decoding to the same JSON", async () => {
      while ((await c.get("/v1/servers?limit=100")).body.servers.length < 12) await register({ description: "padding ".repeat(20) });
      const path = "/v1/servers?limit=100";
      const plain = await rawGet(reg.url + path, {});
      expect(plain.headers["content-encoding"]).toBeUndefined();
      expect(plain.body.length).toBeGreaterThan(1024);
      expect(plain.headers.vary).toMatch(/Accept-Encoding/i);
      const json = JSON.parse(plain.body.toString("utf8"));

      const gz = await rawGet(reg.url + path, { "accept-encoding": "gzip" });
      expect(gz.headers["content-encoding"]).toBe("gzip");
      expect(gz.body.length).toBeLessThan(plain.body.length / 2);
      expect(JSON.parse(gunzipSync(gz.body).toString("utf8"))).toEqual(json);

      const br = await rawGet(reg.url + path, { "accept-encoding": "gzip, deflate, br" });
      expect(br.headers["content-encoding"]).toBe("br");
      expect(JSON.parse(brotliDecompressSync(br.body).toString("utf8"))).toEqual(json);

      // q-values: brotli refused, gzip preferred; identity only when nothing we have is acceptable.
      expect((await rawGet(reg.url + path, { "accept-encoding": "br;q=0, gzip;q=0.5" })).headers["content-encoding"]).toBe("gzip");
      expect((await rawGet(reg.url + path, { "accept-encoding": "deflate, identity" })).headers["content-encoding"]).toBeUndefined();
      expect((await rawGet(reg.url + path, { "accept-encoding": "*" })).headers["content-encoding"]).toBe("br");
      // The same tag names every coding of the same content.
      expect(gz.headers.etag).toBe(plain.headers.etag);
      expect((await rawGet(reg.url + path, { "accept-encoding": "gzip", "if-none-match": plain.headers.etag as string })).status).toBe(304);
    });

    it("sends bodies of 1 KiB or less as they are", async () => {
      const s = await register();
      const res = await rawGet(`${reg.url}/v1/servers/${s.domain}/uptime?days=1`, { "accept-encoding": "gzip, br" });
      expect(res.body.length).toBeLessThanOrEqual(1024);
      expect(res.headers["content-encoding"]).toBeUndefined();
      expect(JSON.parse(res.body.toString("utf8")).domain).toBe(s.domain);
    });
  });

  describe("X-Registrar-Seq", () => {
    it("is on listings and records, and listing then following the feed from it misses nothing", async () => {
      const all = async () => {
        const res = await c.get("/v1/servers?limit=100&sort=created");
        expect(res.status).toBe(200);
        return res;
      };
      // Changes race the listing request, so the answer is cut somewhere in the middle of them.
      const churn = async (n: number) => {
        for (let i = 0; i < n; i++) {
          const s = await register({ name: `churn ${i}` });
          if (i % 3 === 0) await c.del(`/v1/servers/${s.domain}`, { token: tokens.get(s.domain)! });
          if (i % 3 === 1) await c.put(`/v1/servers/${s.domain}`, { name: `renamed ${i}` }, { token: tokens.get(s.domain)! });
        }
      };
      const racing = churn(9);
      const listed = await all();
      await racing;
      const seq = Number(listed.headers.get("x-registrar-seq"));
      expect(Number.isInteger(seq) && seq > 0).toBe(true);
      const view = new Map<string, string>((listed.body.servers as any[]).map((s) => [s.domain, s.name]));
      await churn(3);
      const final = await all();
      const finalSeq = Number(final.headers.get("x-registrar-seq"));
      expect(finalSeq).toBeGreaterThan(seq);

      const feed = await TestSocket.open(reg.url, "/v1/feed");
      await feed.op("hello");
      feed.send({ op: "subscribe", after_seq: seq });
      await feed.next((m) => m.op === "event" && m.seq === finalSeq);
      for (const ev of feed.messages.filter((m) => m.op === "event")) {
        if (ev.type === "server.registered" || ev.type === "server.updated") view.set(ev.domain, ev.data.name);
        if (ev.type === "server.removed") view.delete(ev.domain);
      }
      feed.ws.close();
      const want = new Map<string, string>((final.body.servers as any[]).map((s) => [s.domain, s.name]));
      expect([...view.entries()].sort()).toEqual([...want.entries()].sort());

      const s = await register();
      const rec = await c.get(`/v1/servers/${s.domain}`);
      expect(Number(rec.headers.get("x-registrar-seq"))).toBeGreaterThan(finalSeq);
    });
  });
});
