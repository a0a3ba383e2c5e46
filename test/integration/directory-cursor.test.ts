// Contract §9.2 cursor paging over real HTTP: walks in every sort and order while servers are registered and removed
// between pages neither repeat nor skip a record that did not change; a cursor of another query is a 400.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

const SORTS = ["users", "channels", "name", "created", "last_seen", "rating", "uptime"] as const;

describe("cursor paging", () => {
  const dbUrl = freshDatabaseUrl("cursor");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  const tokens = new Map<string, string>();
  let n = 0;

  /** Registers a server with users/channels from a small range (ties on purpose) and, for some, a rating. */
  async function add(tag = "walk"): Promise<string> {
    const i = n++;
    const names = ["alpha", "Bravo", "charlie", "alpha", "Écho", "delta"];
    const s = newServer({ name: `${names[i % names.length]} ${tag}`, description: i % 4 === 0 ? "needle in here" : undefined });
    const res = await c.post("/v1/servers", s);
    expect(res.status, res.text).toBe(201);
    tokens.set(s.domain, res.body.token);
    const hb = await c.post(`/v1/servers/${s.domain}/heartbeat`, { user_count: (i * 7) % 5, channel_count: (i * 3) % 4 }, { token: res.body.token });
    expect(hb.status).toBe(200);
    if (i % 3 === 0) expect((await c.post(`/v1/servers/${s.domain}/rate`, { user_id: `u${i}`, rating: 1 + (i % 5) })).status).toBe(201);
    return s.domain;
  }
  async function remove(domain: string): Promise<void> {
    expect((await c.del(`/v1/servers/${domain}`, { token: tokens.get(domain)! })).status).toBe(204);
  }
  async function listAll(query: string): Promise<string[]> {
    const res = await c.get(`/v1/servers?limit=100&${query}`);
    expect(res.status, res.text).toBe(200);
    expect(res.body.total).toBeLessThanOrEqual(100);
    return res.body.servers.map((s: { domain: string }) => s.domain);
  }

  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, RATE_LIMIT_LIST: "off", RATE_LIMIT_REGISTER: "off", RATE_LIMIT_RATE: "off", RATE_LIMIT_WRITE: "off", RATINGS_ANONYMOUS: "true" });
    c = api(reg.url);
    for (let i = 0; i < 30; i++) await add("original");
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  /**
   * Walks `query` page by page; between pages one server is registered and one listed server removed. Every record
   * listed at the start and not removed must come exactly once; nothing may come twice.
   */
  async function walkWithChurn(query: string, limit: number): Promise<void> {
    const before = await listAll(query);
    const removed = new Set<string>();
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; text: string; body: any } = await c.get(`/v1/servers?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status, res.text).toBe(200);
      seen.push(...res.body.servers.map((s: { domain: string }) => s.domain));
      cursor = res.body.next_cursor;
      if (cursor !== null) expect(res.body.servers).toHaveLength(limit);
      // Churn: one newcomer, and one removal alternating between a record already seen and one still ahead.
      await add("churn");
      const pool = before.filter((d) => !removed.has(d));
      const victim = pages % 2 === 0 ? pool.find((d) => !seen.includes(d)) : pool.find((d) => seen.includes(d));
      if (victim && pool.length > 4) {
        await remove(victim);
        removed.add(victim);
      }
      pages++;
      expect(pages).toBeLessThan(200);
    } while (cursor !== null);
    expect(new Set(seen).size, `${query}: a record came twice`).toBe(seen.length);
    const missing = before.filter((d) => !removed.has(d) && !seen.includes(d));
    expect(missing, `${query}: unchanged records skipped`).toEqual([]);
  }

  for (const sort of SORTS) {
    for (const order of ["asc", "desc"] as const) {
      it(`walks sort=${sort}&order=${order} without repeats or skips while servers come and go`, async () => {
        await walkWithChurn(`sort=${sort}&order=${order}`, 7);
      });
    }
  }

  it("walks a filtered listing and a sparse search the same way", async () => {
    await walkWithChurn("sort=users&status=online", 5);
    await walkWithChurn("sort=name&q=needle", 2);
  });

  it("answers next_cursor null on the last page and lets limit change between pages", async () => {
    const first = await c.get("/v1/servers?sort=created&order=asc&limit=3");
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const rest = await c.get(`/v1/servers?sort=created&order=asc&limit=100&cursor=${first.body.next_cursor}`);
    expect(rest.status).toBe(200);
    expect(rest.body.next_cursor).toBeNull();
    const all = await listAll("sort=created&order=asc");
    expect([...first.body.servers, ...rest.body.servers].map((s: { domain: string }) => s.domain)).toEqual(all);
  });

  it("refuses a cursor of another query, a tampered one and garbage with validation_failed", async () => {
    const first = await c.get("/v1/servers?sort=users&limit=2");
    const cursor = first.body.next_cursor as string;
    const decoded = JSON.parse(Buffer.from(cursor, "base64url").toString());
    const tampered = Buffer.from(JSON.stringify({ ...decoded, k: "not a number" })).toString("base64url");
    for (const q of [
      `sort=users&status=online&cursor=${cursor}`,
      `sort=channels&cursor=${cursor}`,
      `sort=users&order=asc&cursor=${cursor}`,
      `cursor=${cursor}&q=x`,
      `sort=users&cursor=${tampered}`,
      "sort=users&cursor=%00%01",
      "sort=users&cursor=",
      `sort=users&cursor=${"A".repeat(2100)}`,
      `sort=users&cursor=${Buffer.from("[1,2]").toString("base64url")}`,
    ]) {
      const res = await c.get(`/v1/servers?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain("cursor");
    }
    // Without the other parameters the query is the default one (sort=users&order=desc): the same query.
    expect((await c.get(`/v1/servers?cursor=${cursor}`)).status).toBe(200);
  });
});
