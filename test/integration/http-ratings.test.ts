// Contract §3 ratings over real HTTP: submit/replace one rating per (server, user), averages, newest-first pages.
// These are anonymous ratings (the pre-§8.4 form), which need RATINGS_ANONYMOUS=true since issue 10; ratings by
// proved identities are in trust-ratings.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe("ratings", () => {
  const dbUrl = freshDatabaseUrl("ratings");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  let db: Awaited<ReturnType<typeof connect>>;

  const register = async () => {
    const body = newServer();
    const res = await c.post("/v1/servers", body);
    expect(res.status).toBe(201);
    return body.domain;
  };
  const rate = (domain: string, body: unknown) => c.post(`/v1/servers/${domain}/rate`, body);
  const rows = async (domain: string) => {
    const [r] = (await db.query("SELECT user_id, rating, comment FROM ratings WHERE domain = ? ORDER BY user_id", [domain])) as any;
    return r as { user_id: string; rating: number; comment: string | null }[];
  };
  const count = async (table: string) => {
    const [[r]] = (await db.query(`SELECT COUNT(*) AS n FROM ${table}`)) as any;
    return Number(r.n);
  };

  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, RATE_LIMIT_LIST: "off", RATE_LIMIT_REGISTER: "off", RATE_LIMIT_RATE: "off", RATINGS_ANONYMOUS: "true" });
    c = api(reg.url);
    db = await connect(dbUrl);
  });
  afterAll(async () => {
    await db?.end();
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("answers a new rating with 201 and the rating's user_id, rating, comment and created_at", async () => {
    const domain = await register();
    const before = Date.now();
    const res = await rate(domain, { user_id: "alice", rating: 5, comment: "Great\nplace" });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body)).toEqual(["rating"]);
    expect(Object.keys(res.body.rating).sort()).toEqual(["comment", "created_at", "rating", "user_id", "verified"]);
    expect(res.body.rating).toMatchObject({ user_id: "alice", rating: 5, comment: "Great\nplace" });
    expect(res.body.rating.created_at).toMatch(ISO_MS);
    expect(Date.parse(res.body.rating.created_at)).toBeGreaterThanOrEqual(before - 5);
    const noComment = await rate(domain, { user_id: "bob", rating: 3 });
    expect(noComment.status).toBe(201);
    expect(noComment.body.rating.comment).toBeNull();
    expect((await rate(domain, { user_id: "carol", rating: 1, comment: null })).body.rating.comment).toBeNull();
  });

  it("replaces a user's earlier rating with 200, keeping one row per (server, user_id)", async () => {
    const domain = await register();
    expect((await rate(domain, { user_id: "alice", rating: 1, comment: "meh" })).status).toBe(201);
    const again = await rate(domain, { user_id: "alice", rating: 4 });
    expect(again.status).toBe(200);
    expect(again.body.rating).toMatchObject({ user_id: "alice", rating: 4, comment: null });
    expect(await rows(domain)).toEqual([{ user_id: "alice", rating: 4, comment: null }]);
    // The same user_id on another server is another rating.
    const other = await register();
    expect((await rate(other, { user_id: "alice", rating: 2 })).status).toBe(201);
    expect(await rows(domain)).toHaveLength(1);
  });

  it("reports average (rounded to 2 decimals) and count, before and after a replacement, everywhere the record appears", async () => {
    const domain = await register();
    const summary = async () => {
      const r = await c.get(`/v1/servers/${domain}/ratings`);
      const s = (await c.get(`/v1/servers/${domain}`)).body.server.rating;
      const listed = (await c.get(`/v1/servers?q=${domain}`)).body.servers[0].rating;
      // Contract §8.4: the record's rating adds the star distribution and the verified count (0: all anonymous).
      expect(s).toEqual({ average: r.body.average, count: r.body.count, distribution: s.distribution, verified_count: 0 });
      expect(listed).toEqual(s);
      return s;
    };
    expect(await summary()).toEqual({ average: null, count: 0, distribution: [0, 0, 0, 0, 0], verified_count: 0 });
    await rate(domain, { user_id: "u1", rating: 5 });
    await rate(domain, { user_id: "u2", rating: 4 });
    await rate(domain, { user_id: "u3", rating: 4 });
    expect(await summary()).toEqual({ average: 4.33, count: 3, distribution: [0, 0, 0, 2, 1], verified_count: 0 });
    expect((await rate(domain, { user_id: "u2", rating: 5 })).status).toBe(200);
    expect(await summary()).toEqual({ average: 4.67, count: 3, distribution: [0, 0, 0, 1, 2], verified_count: 0 });
    await rate(domain, { user_id: "u1", rating: 1 });
    await rate(domain, { user_id: "u3", rating: 2 });
    await rate(domain, { user_id: "u2", rating: 2 });
    expect(await summary()).toEqual({ average: 1.67, count: 3, distribution: [1, 2, 0, 0, 0], verified_count: 0 });
    await rate(domain, { user_id: "u4", rating: 1 });
    expect(await summary()).toEqual({ average: 1.5, count: 4, distribution: [2, 2, 0, 0, 0], verified_count: 0 });
  });

  it("lists ratings newest first with average, count, limit and offset; a replaced rating moves to the front", async () => {
    const domain = await register();
    for (const [i, user] of ["a", "b", "c", "d", "e"].entries()) {
      expect((await rate(domain, { user_id: user, rating: (i % 5) + 1, comment: `c-${user}` })).status).toBe(201);
    }
    const res = await c.get(`/v1/servers/${domain}/ratings`);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["average", "count", "limit", "offset", "ratings"]);
    expect(res.body).toMatchObject({ average: 3, count: 5, limit: 50, offset: 0 });
    expect(res.body.ratings.map((r: any) => r.user_id)).toEqual(["e", "d", "c", "b", "a"]);
    for (const r of res.body.ratings) {
      expect(Object.keys(r).sort()).toEqual(["comment", "created_at", "rating", "user_id", "verified"]);
      expect(r.created_at).toMatch(ISO_MS);
    }
    const times = res.body.ratings.map((r: any) => Date.parse(r.created_at));
    expect([...times].sort((x, y) => y - x)).toEqual(times);

    await rate(domain, { user_id: "b", rating: 5, comment: "changed my mind" });
    const after = await c.get(`/v1/servers/${domain}/ratings`);
    expect(after.body.ratings.map((r: any) => r.user_id)).toEqual(["b", "e", "d", "c", "a"]);
    expect(after.body.ratings[0]).toMatchObject({ rating: 5, comment: "changed my mind" });
    expect(after.body.count).toBe(5);

    const page = await c.get(`/v1/servers/${domain}/ratings?limit=2&offset=1`);
    expect(page.body).toMatchObject({ limit: 2, offset: 1, count: 5 });
    expect(page.body.ratings.map((r: any) => r.user_id)).toEqual(["e", "d"]);
    const past = await c.get(`/v1/servers/${domain}/ratings?offset=5&ignored=1`);
    expect(past.body.ratings).toEqual([]);
    expect(past.body.count).toBe(5);
  });

  it("answers ratings of a server without any with average null, count 0 and an empty list", async () => {
    const domain = await register();
    const res = await c.get(`/v1/servers/${domain}/ratings`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ average: null, count: 0, ratings: [], limit: 50, offset: 0 });
  });

  it("answers 404 not_found when rating or listing ratings of an unknown server, and writes nothing", async () => {
    const ratings = await count("ratings");
    const events = await count("events");
    for (const domain of ["unknown-server.example.com", "not_a_domain"]) {
      const r = await rate(domain, { user_id: "u", rating: 5 });
      expect(r.status).toBe(404);
      expect(r.body.error.code).toBe("not_found");
      const l = await c.get(`/v1/servers/${domain}/ratings`);
      expect(l.status).toBe(404);
      expect(l.body.error.code).toBe("not_found");
    }
    expect(await count("ratings")).toBe(ratings);
    expect(await count("events")).toBe(events);
  });

  it("finds the server to rate by any spelling of its domain", async () => {
    const domain = await register();
    expect((await rate(domain.toUpperCase(), { user_id: "u", rating: 2 })).status).toBe(201);
    expect((await c.get(`/v1/servers/${domain.toUpperCase()}/ratings`)).body.count).toBe(1);
  });

  it.each([
    ["a missing user_id", { rating: 5 }, "user_id"],
    ["an empty user_id", { user_id: "", rating: 5 }, "user_id"],
    ["a user_id over 128 characters", { user_id: "u".repeat(129), rating: 5 }, "user_id"],
    ["a numeric user_id", { user_id: 7, rating: 5 }, "user_id"],
    ["a user_id with a control character", { user_id: "a\u0000b", rating: 5 }, "user_id"],
    ["a missing rating", { user_id: "u" }, "rating"],
    ["rating 0", { user_id: "u", rating: 0 }, "rating"],
    ["rating 6", { user_id: "u", rating: 6 }, "rating"],
    ["rating 4.5", { user_id: "u", rating: 4.5 }, "rating"],
    ["rating as a string", { user_id: "u", rating: "5" }, "rating"],
    ["rating null", { user_id: "u", rating: null }, "rating"],
    ["a comment over 500 characters", { user_id: "u", rating: 5, comment: "c".repeat(501) }, "comment"],
    ["a numeric comment", { user_id: "u", rating: 5, comment: 5 }, "comment"],
    ["an unknown field", { user_id: "u", rating: 5, stars: 5 }, "stars"],
  ])("refuses %s with validation_failed and writes nothing", async (_what, body, path) => {
    const domain = await register();
    const events = await count("events");
    const res = await rate(domain, body);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("validation_failed");
    expect(res.body.error.details.map((d: any) => d.path)).toContain(path);
    expect(await rows(domain)).toEqual([]);
    expect(await count("events")).toBe(events);
  });

  it("refuses a body that is not an object, and a rating without a body", async () => {
    const domain = await register();
    for (const body of ["[]", "5", "null"]) {
      const res = await rate(domain, body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
    }
    const empty = await c.post(`/v1/servers/${domain}/rate`);
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe("validation_failed");
  });

  it("accepts the longest user_id and comment", async () => {
    const domain = await register();
    const res = await rate(domain, { user_id: "u".repeat(128), rating: 1, comment: "é".repeat(500) });
    expect(res.status).toBe(201);
    expect(await rows(domain)).toEqual([{ user_id: "u".repeat(128), rating: 1, comment: "é".repeat(500) }]);
  });

  it("leaves an earlier rating untouched when its replacement is refused", async () => {
    const domain = await register();
    await rate(domain, { user_id: "alice", rating: 4, comment: "good" });
    const bad = await rate(domain, { user_id: "alice", rating: 9, comment: "changed" });
    expect(bad.status).toBe(400);
    expect(await rows(domain)).toEqual([{ user_id: "alice", rating: 4, comment: "good" }]);
    expect((await c.get(`/v1/servers/${domain}/ratings`)).body).toMatchObject({ average: 4, count: 1 });
  });

  it.each(["limit=0", "limit=101", "limit=1.5", "offset=-1", "offset=10001", "limit=abc"])(
    "refuses ratings paging %s with validation_failed",
    async (query) => {
      const domain = await register();
      const res = await c.get(`/v1/servers/${domain}/ratings?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
    },
  );
});
