// The web directory over plain HTTP (contract §9.1): headers, HEAD, ETag and 304, static files, 404s, WEB_UI=off,
// lenient query handling and the abuse cases (hostile and huge parameters, floods of distinct pages).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTENT_SECURITY_POLICY } from "../../src/web/headers.js";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers });

describe("web pages over HTTP", () => {
  const dbUrl = freshDatabaseUrl("webhttp");
  let reg: InProcessRegistrar;
  let domain: string;

  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, RATE_LIMIT_LIST: "off", RATE_LIMIT_REGISTER: "off" });
    const body = newServer({ name: `<script>alert("x")</script>`, description: `"quoted" & <b>` });
    expect((await api(reg.url).post("/v1/servers", body)).status).toBe(201);
    domain = body.domain;
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("serves / and /server/:domain as HTML with the CSP, nosniff, no framing, no-cache and an ETag", async () => {
    for (const path of ["/", `/server/${domain}`]) {
      const res = await get(reg.url + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(res.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
      expect(CONTENT_SECURITY_POLICY).toMatch(/script-src 'self'(;|$)/);
      expect(CONTENT_SECURITY_POLICY).toMatch(/object-src 'none'/);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("cache-control")).toBe("no-cache");
      expect(res.headers.get("etag")).toMatch(/^"[A-Za-z0-9_-]{22}"$/);
      expect(res.headers.get("x-request-id")).toBeTruthy();
      const html = await res.text();
      expect(html.startsWith("<!doctype html>")).toBe(true);
      // Record text arrives escaped; nothing of it is markup.
      expect(html).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
      expect(html).not.toContain(`<script>alert("x")`);
      expect(html).toContain("&quot;quoted&quot; &amp; &lt;b&gt;");
      expect(html.match(/<script/g)).toHaveLength(1); // only the page's own deferred file
    }
  });

  it("answers HEAD with the GET headers and no body", async () => {
    // Identity on both: a compressed answer's length is the compressed one's (§9.2), which fetch would hide.
    const full = await get(reg.url + "/", { "accept-encoding": "identity" });
    const head = await fetch(reg.url + "/", { method: "HEAD", headers: { "accept-encoding": "identity" } });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(Buffer.byteLength(await full.text())));
    expect(head.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
    expect(await head.text()).toBe("");
  });

  it("answers 304 without a body for a current ETag, and 200 with a new one once the directory changed", async () => {
    const first = await get(reg.url + "/?sort=name");
    const etag = first.headers.get("etag")!;
    const again = await get(reg.url + "/?sort=name", { "if-none-match": etag });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    expect(again.headers.get("etag")).toBe(etag);
    expect((await get(reg.url + "/?sort=name", { "if-none-match": `"other", W/${etag}` })).status).toBe(304);
    const added = newServer({ name: "Fresh one" });
    expect((await api(reg.url).post("/v1/servers", added)).status).toBe(201);
    const changed = await get(reg.url + "/?sort=name", { "if-none-match": etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
    expect(await changed.text()).toContain(added.domain);
  });

  it("serves the stylesheet and script under versioned URLs for a year, with ETag revalidation", async () => {
    const html = await (await get(reg.url + "/")).text();
    const css = /href="(\/assets\/style\.css\?v=[A-Za-z0-9_-]{16})"/.exec(html)![1];
    const js = /src="(\/assets\/app\.js\?v=[A-Za-z0-9_-]{16})"/.exec(html)![1];
    for (const [path, type] of [[css, "text/css; charset=utf-8"], [js, "text/javascript; charset=utf-8"]]) {
      const res = await get(reg.url + path);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe(type);
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      const etag = res.headers.get("etag")!;
      expect(path).toContain(etag.slice(1, -1)); // the URL's version is the content hash
      expect((await get(reg.url + path, { "if-none-match": etag })).status).toBe(304);
    }
    for (const bad of ["/assets/nope.js", "/assets/..%2Fconfig.ts", "/assets/%2e%2e%2fpackage.json", "/assets/style.css/x"]) {
      const res = await get(reg.url + bad);
      expect(res.status, bad).toBe(404);
      expect((await res.json()).error.code).toBe("not_found");
    }
  });

  it("finds a server page by any spelling of its domain, and answers unknown or malformed ones with an HTML 404", async () => {
    expect((await get(`${reg.url}/server/${domain.toUpperCase()}`)).status).toBe(200);
    for (const path of ["/server/nobody.example.com", "/server/%ff%fe", "/server/a..b.example", `/server/${"a".repeat(300)}.com`, "/server/%3Cscript%3E"]) {
      const res = await get(reg.url + path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(res.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
      expect(await res.text()).not.toContain("<script>");
    }
  });

  it("answers bad query values with the default page and a notice, never a 400 or an echo of the input", async () => {
    const res = await get(`${reg.url}/?sort=%3Cimg%3E&status=1&verified=yes&q=${"x".repeat(101)}&cursor=${encodeURIComponent("<b>")}&limit=99999`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("Unknown sort order; using the default.");
    expect(html).toContain("Unknown status filter; using the default.");
    expect(html).toContain("Unknown verified filter; using the default.");
    expect(html).toContain("Search text can be at most 100 characters");
    expect(html).not.toContain("<img>");
    expect(html).not.toContain("&lt;img&gt;");
    expect(html).toContain('class="card"');
  });

  it("takes hostile and huge parameters in stride: deep cursors, repeated keys, an 8 KB query", async () => {
    for (const q of ["cursor=99999999", "cursor=10020", "cursor=-1", "cursor=1e3", "sort=name&sort=users", `q=${"%F0%9F%98%80".repeat(100)}`, `x=${"y".repeat(8000)}`]) {
      const res = await get(`${reg.url}/?${q}`);
      expect(res.status, q).toBe(200);
      expect(await res.text()).toContain("Find a Zent server");
    }
  });

  it("answers other methods with 405 and Allow", async () => {
    const res = await fetch(reg.url + "/", { method: "POST" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD, OPTIONS");
  });
});

describe("web pages and the listing rate limit", () => {
  const dbUrl = freshDatabaseUrl("weblimit");
  let reg: InProcessRegistrar;

  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, RATE_LIMIT_LIST: "3/60", RATE_LIMIT_REGISTER: "off" });
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("counts each rendered page against RATE_LIMIT_LIST and answers a flood of distinct pages with an HTML 429", async () => {
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 6; i++) {
      const res = await get(`${reg.url}/?q=flood${i}`);
      statuses.push(res.status);
      if (res.status === 429) limited ??= res;
      else await res.text();
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429]);
    expect(limited!.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(Number(limited!.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(limited!.headers.get("ratelimit-remaining")).toBe("0");
    expect(await limited!.text()).toContain("Too many requests");
    // A page already rendered (and unchanged) costs a lookup, so it is still served: people behind one address keep
    // browsing what others just looked at.
    expect((await get(`${reg.url}/?q=flood0`)).status).toBe(200);
    // The page and the JSON listing share the limit.
    expect((await get(`${reg.url}/v1/servers?q=other`)).status).toBe(429);
  });
});

describe("WEB_UI=off", () => {
  const dbUrl = freshDatabaseUrl("weboff");
  let reg: InProcessRegistrar;

  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, WEB_UI: "off", RATE_LIMIT_REGISTER: "off" });
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("answers 404 for the directory, a server page and the static files, while the API still works", async () => {
    const body = newServer();
    expect((await api(reg.url).post("/v1/servers", body)).status).toBe(201);
    for (const path of ["/", `/server/${body.domain}`, "/assets/app.js", "/assets/style.css"]) {
      const res = await get(reg.url + path);
      expect(res.status, path).toBe(404);
      expect((await res.json()).error.code).toBe("not_found");
    }
    expect((await get(`${reg.url}/v1/servers/${body.domain}`)).status).toBe(200);
  });

  it("refuses a value other than on or off at start-up", async () => {
    await expect(startRegistrar({ DATABASE_URL: dbUrl, WEB_UI: "yes" })).rejects.toThrow(/WEB_UI/);
  });
});
