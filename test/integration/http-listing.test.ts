// Contract §3 listing over real HTTP: sorts and their default orders, tie-breaks, filters, q, paging, bad params.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

const REGISTRAR_ID = "reg.listing.example";
const PEER = "peer.example";

type Fixture = { label: string; name: string; description?: string; users: number; channels: number; ratings: number[] };
// Ties on purpose: alpha/bravo/golf share users, alpha/bravo share a rating, so tie-breaks by domain are visible.
const FIXTURE: Fixture[] = [
  { label: "alpha", name: "alpha", description: "100% real", users: 10, channels: 5, ratings: [5, 4] },
  { label: "bravo", name: "Bravo", description: "under_score here", users: 10, channels: 7, ratings: [4, 5] },
  { label: "charlie", name: "charlie", users: 50, channels: 1, ratings: [1] },
  { label: "delta", name: "Delta Chat", description: "A Friendly PLACE", users: 0, channels: 0, ratings: [] },
  { label: "echo", name: "echo", description: "percent % sign", users: 5, channels: 5, ratings: [3, 4, 4] },
  { label: "foxtrot", name: "Foxtrot", description: "a_b", users: 0, channels: 2, ratings: [] },
  { label: "golf", name: "golf", users: 10, channels: 5, ratings: [] },
  { label: "hotel", name: "hotel", users: 1, channels: 0, ratings: [2] },
  { label: "india", name: "india", users: 3, channels: 3, ratings: [] },
];
const dom = (label: string) => `${label}.list.example`;
const OFFLINE = [dom("golf"), dom("delta")];
const VERIFIED = [dom("hotel"), dom("charlie")];
const MIRRORED = [dom("india")];

type Rec = { domain: string; name: string; user_count: number; channel_count: number; created_at: string; last_seen: string; rating: { average: number | null; count: number } };
const byDomain = (a: Rec, b: Rec) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0);
const foldName = (n: string) => n.toLowerCase();
const KEY: Record<string, (r: Rec) => number | string> = {
  users: (r) => r.user_count,
  channels: (r) => r.channel_count,
  name: (r) => foldName(r.name),
  created: (r) => Date.parse(r.created_at),
  last_seen: (r) => Date.parse(r.last_seen),
};

/** The order the contract asks for, computed independently from the records themselves. */
function expectedOrder(records: Rec[], sort: string, order: "asc" | "desc"): string[] {
  const sign = order === "asc" ? 1 : -1;
  return [...records]
    .sort((a, b) => {
      if (sort === "rating") {
        const ua = a.rating.count === 0 ? 1 : 0;
        const ub = b.rating.count === 0 ? 1 : 0;
        if (ua !== ub) return ua - ub;
        if (ua === 0) {
          const d = sign * (a.rating.average! - b.rating.average!);
          if (d !== 0) return d;
        }
        return byDomain(a, b);
      }
      const ka = KEY[sort](a);
      const kb = KEY[sort](b);
      const d = ka < kb ? -1 : ka > kb ? 1 : 0;
      return sign * d || byDomain(a, b);
    })
    .map((r) => r.domain);
}

describe("listing servers", () => {
  const dbUrl = freshDatabaseUrl("listing");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  const env = { DATABASE_URL: dbUrl, REGISTRAR_ID, RATE_LIMIT_LIST: "off", RATE_LIMIT_REGISTER: "off", RATE_LIMIT_RATE: "off", RATINGS_ANONYMOUS: "true" };
  let all: Rec[];
  const tokens = new Map<string, string>();

  const list = async (query: string) => {
    const res = await c.get(`/v1/servers${query ? `?${query}` : ""}`);
    expect(res.status, `${query}: ${res.text}`).toBe(200);
    return res.body as { servers: Rec[]; total: number; limit: number; offset: number };
  };
  const domains = async (query: string) => (await list(query)).servers.map((s) => s.domain);
  const expect400 = async (query: string, path?: string) => {
    const res = await c.get(`/v1/servers?${query}`);
    expect(res.status, query).toBe(400);
    expect(res.body.error.code).toBe("validation_failed");
    if (path) expect(res.body.error.details.map((d: any) => d.path)).toContain(path);
  };

  beforeAll(async () => {
    // Build the directory through the API, then mark a few rows verified / offline / mirrored in MySQL (the only
    // ways those states arise in a single node without NATS) and restart, so the node loads them from the store.
    const first = await startRegistrar(env);
    const a = api(first.url);
    for (const f of FIXTURE) {
      const domain = dom(f.label);
      const res = await a.post("/v1/servers", { domain, name: f.name, description: f.description, api_url: `https://${domain}/api` });
      expect(res.status, res.text).toBe(201);
      tokens.set(domain, res.body.token);
      expect((await a.post(`/v1/servers/${domain}/heartbeat`, { user_count: f.users, channel_count: f.channels }, { token: res.body.token })).status).toBe(200);
      for (const [i, rating] of f.ratings.entries()) {
        expect((await a.post(`/v1/servers/${domain}/rate`, { user_id: `user-${i}`, rating })).status).toBe(201);
      }
    }
    await first.stop();
    const db = await connect(dbUrl);
    try {
      await db.query("UPDATE servers SET status = 'offline' WHERE domain IN (?)", [OFFLINE]);
      await db.query("UPDATE servers SET verified = 1 WHERE domain IN (?)", [VERIFIED]);
      await db.query("UPDATE servers SET origin = ? WHERE domain IN (?)", [PEER, MIRRORED]);
    } finally {
      await db.end();
    }
    reg = await startRegistrar(env);
    c = api(reg.url);
    all = (await list("limit=100")).servers;
    expect(all).toHaveLength(FIXTURE.length);
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("answers with servers, total, limit, offset and next_cursor, defaulting to limit 50 and offset 0", async () => {
    const res = await c.get("/v1/servers");
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["limit", "next_cursor", "offset", "servers", "total"]);
    expect(res.body.next_cursor).toBeNull();
    expect(res.body).toMatchObject({ total: FIXTURE.length, limit: 50, offset: 0 });
    expect(res.text).not.toMatch(/token/);
  });

  it("keeps what was persisted across a restart: counts, ratings, verified, status and origin", async () => {
    const get = (label: string) => all.find((r) => r.domain === dom(label)) as any;
    expect(get("alpha")).toMatchObject({ user_count: 10, channel_count: 5, rating: { average: 4.5, count: 2 }, origin: REGISTRAR_ID });
    // Contract §8.4: the persisted summary includes the star distribution (echo was rated 3, 4, 4).
    expect(get("echo").rating).toEqual({ average: 3.67, count: 3, distribution: [0, 0, 1, 2, 0], verified_count: 0 });
    expect(get("delta").rating).toEqual({ average: null, count: 0, distribution: [0, 0, 0, 0, 0], verified_count: 0 });
    expect(get("golf").status).toBe("offline");
    expect(get("hotel").verified).toBe(true);
    expect(get("india").origin).toBe(PEER);
  });

  it("sorts by users descending by default, ties broken by domain ascending", async () => {
    const got = await domains("");
    expect(got).toEqual(expectedOrder(all, "users", "desc"));
    expect(got.slice(0, 4)).toEqual([dom("charlie"), dom("alpha"), dom("bravo"), dom("golf")]);
  });

  for (const sort of ["users", "channels", "name", "created", "last_seen"]) {
    it(`sorts by ${sort} in both orders with ties broken by domain ascending, defaulting to ${sort === "name" ? "asc" : "desc"}`, async () => {
      const dflt = await domains(`sort=${sort}`);
      expect(dflt).toEqual(expectedOrder(all, sort, sort === "name" ? "asc" : "desc"));
      expect(await domains(`sort=${sort}&order=asc`)).toEqual(expectedOrder(all, sort, "asc"));
      expect(await domains(`sort=${sort}&order=desc`)).toEqual(expectedOrder(all, sort, "desc"));
    });
  }

  // Regression: names were compared by UTF-16 code unit, so every capitalised name sorted before every lower-case one.
  it("sorts by name case-insensitively, A to Z by default", async () => {
    expect(await domains("sort=name")).toEqual(
      ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"].map(dom),
    );
  });

  it("sorts by rating with unrated servers after rated ones in both orders, ties broken by domain ascending", async () => {
    const desc = await domains("sort=rating");
    expect(desc).toEqual([dom("alpha"), dom("bravo"), dom("echo"), dom("hotel"), dom("charlie"), dom("delta"), dom("foxtrot"), dom("golf"), dom("india")]);
    expect(await domains("sort=rating&order=desc")).toEqual(desc);
    expect(await domains("sort=rating&order=asc")).toEqual([
      dom("charlie"), dom("hotel"), dom("echo"), dom("alpha"), dom("bravo"), dom("delta"), dom("foxtrot"), dom("golf"), dom("india"),
    ]);
  });

  it("pages stably: consecutive pages of every sort concatenate to the full list", async () => {
    for (const sort of ["users", "channels", "name", "created", "last_seen", "rating"]) {
      for (const order of ["asc", "desc"]) {
        const full = await domains(`sort=${sort}&order=${order}&limit=100`);
        const paged: string[] = [];
        for (let offset = 0; offset < full.length; offset += 2) {
          const page = await list(`sort=${sort}&order=${order}&limit=2&offset=${offset}`);
          expect(page).toMatchObject({ total: full.length, limit: 2, offset });
          paged.push(...page.servers.map((s) => s.domain));
        }
        expect(paged, `${sort} ${order}`).toEqual(full);
      }
    }
  });

  it("filters by status, verified and origin, with total counting every match", async () => {
    const online = await list("status=online&limit=100");
    expect(online.servers.every((s: any) => s.status === "online")).toBe(true);
    expect(online.total).toBe(FIXTURE.length - OFFLINE.length);
    const offline = await list("status=offline");
    expect(offline.servers.map((s) => s.domain).sort()).toEqual([...OFFLINE].sort());
    expect(offline.total).toBe(OFFLINE.length);
    expect((await list("status=any")).total).toBe(FIXTURE.length);

    const verified = await list("verified=true");
    expect(verified.servers.map((s) => s.domain).sort()).toEqual([...VERIFIED].sort());
    expect(verified.total).toBe(VERIFIED.length);
    expect((await list("verified=false")).total).toBe(FIXTURE.length - VERIFIED.length);

    expect((await list("origin=any")).total).toBe(FIXTURE.length);
    const local = await list("origin=local&limit=100");
    expect(local.total).toBe(FIXTURE.length - MIRRORED.length);
    expect(local.servers.every((s: any) => s.origin === REGISTRAR_ID)).toBe(true);
    expect((await list(`origin=${REGISTRAR_ID}`)).total).toBe(local.total);
    expect(await domains(`origin=${PEER}`)).toEqual(MIRRORED);
    expect((await list("origin=nobody.example")).total).toBe(0);

    const combined = await list("status=online&verified=false&origin=local&limit=2&offset=1&sort=name");
    const expected = all.filter((s: any) => s.status === "online" && !s.verified && s.origin === REGISTRAR_ID);
    expect(combined.total).toBe(expected.length);
    expect(combined.servers.map((s) => s.domain)).toEqual(expectedOrder(expected, "name", "asc").slice(1, 3));
  });

  it("matches q case-insensitively as a literal substring of domain, name or description", async () => {
    expect(await domains("q=ALPHA")).toEqual([dom("alpha")]);
    expect(await domains("q=friendly%20place")).toEqual([dom("delta")]);
    expect(await domains("q=Delta%20CHAT")).toEqual([dom("delta")]);
    expect((await list("q=list.example")).total).toBe(FIXTURE.length);
    expect((await list("q=nothing-matches-this")).servers).toEqual([]);
    expect((await list("q=nothing-matches-this")).total).toBe(0);
  });

  it("treats % and _ in q as themselves, not as wildcards", async () => {
    expect((await domains("q=%25")).sort()).toEqual([dom("alpha"), dom("echo")]);
    expect((await domains("q=_")).sort()).toEqual([dom("bravo"), dom("foxtrot")]);
    expect(await domains("q=a_b")).toEqual([dom("foxtrot")]);
    expect(await domains("q=100%25%20real")).toEqual([dom("alpha")]);
    expect(await domains("q=a%25b")).toEqual([]);
  });

  it("combines q with filters, sort and paging, with total counting every match", async () => {
    const page = await list("q=o&status=online&sort=name&limit=1&offset=1");
    const matches = all.filter((s: any) => s.status === "online" && (s.domain.includes("o") || s.name.toLowerCase().includes("o") || (s.description ?? "").toLowerCase().includes("o")));
    expect(page.total).toBe(matches.length);
    expect(page.servers.map((s) => s.domain)).toEqual(expectedOrder(matches, "name", "asc").slice(1, 2));
  });

  it("accepts limit 1–100 and offset 0–10000, returning an empty page past the end", async () => {
    expect((await list("limit=1")).servers).toHaveLength(1);
    expect((await list("limit=100")).limit).toBe(100);
    const far = await list("offset=10000");
    expect(far).toMatchObject({ servers: [], total: FIXTURE.length, offset: 10000 });
    expect((await list(`q=${"x".repeat(100)}`)).total).toBe(0);
  });

  it.each([
    ["limit=0", "limit"], ["limit=101", "limit"], ["limit=1.5", "limit"], ["limit=10abc", "limit"], ["limit=-1", "limit"],
    ["limit=%2B5", "limit"], ["limit=1e1", "limit"], ["limit=", "limit"], ["limit=01", "limit"], ["offset=10001", "offset"],
    ["offset=-1", "offset"], ["offset=abc", "offset"], ["order=ASC", "order"], ["order=up", "order"], ["sort=Users", "sort"],
    ["sort=popularity", "sort"], ["status=ONLINE", "status"], ["status=away", "status"], ["verified=1", "verified"],
    ["verified=TRUE", "verified"], ["verified=yes", "verified"], [`q=${"x".repeat(101)}`, "q"], ["q=a%00b", "q"],
    ["origin=Not%20An%20Id", "origin"],
  ])("refuses %s with 400 validation_failed", async (query, path) => {
    await expect400(query, path);
  });

  it("ignores unknown parameters", async () => {
    expect(await domains("foo=bar&page=2&sort_by=x")).toEqual(await domains(""));
  });

  it("keeps listings current as servers register, heartbeat, change their name and leave", async () => {
    const domain = "zulu.list.example";
    const created = await c.post("/v1/servers", { domain, name: "Zulu", api_url: `https://${domain}/api` });
    expect(created.status).toBe(201);
    const token = created.body.token;
    expect(await domains("q=zulu")).toEqual([domain]);
    expect((await domains("sort=name&order=desc"))[0]).toBe(domain);
    expect((await list("")).total).toBe(FIXTURE.length + 1);
    await c.post(`/v1/servers/${domain}/heartbeat`, { user_count: 1000, channel_count: 0 }, { token });
    expect((await domains(""))[0]).toBe(domain);
    expect((await domains("sort=channels&order=asc"))[0]).toBe(dom("delta"));
    await c.put(`/v1/servers/${domain}`, { name: "Aardvark", description: "renamed" }, { token });
    expect(await domains("q=zulu")).toEqual([domain]);
    expect(await domains("q=aardvark")).toEqual([domain]);
    expect((await domains("sort=name"))[0]).toBe(domain);
    expect(await domains("q=renamed")).toEqual([domain]);
    expect((await c.del(`/v1/servers/${domain}`, { token })).status).toBe(204);
    expect(await domains("q=aardvark")).toEqual([]);
    expect(await domains("")).toEqual(expectedOrder(all, "users", "desc"));
    expect((await list("")).total).toBe(FIXTURE.length);
  });

  describe("a mirrored record (origin of another registrar)", () => {
    const india = dom("india");

    it("answers writes with 403 not_owner, even with the token it was registered with, and changes nothing", async () => {
      const before = (await c.get(`/v1/servers/${india}`)).body.server;
      const token = tokens.get(india)!;
      for (const tok of [token, "ab".repeat(32)]) {
        for (const [method, path, body] of [
          ["PUT", `/v1/servers/${india}`, { name: "Taken over" }],
          ["POST", `/v1/servers/${india}/heartbeat`, { user_count: 99 }],
          ["POST", `/v1/servers/${india}/token`, undefined],
          ["DELETE", `/v1/servers/${india}`, undefined],
        ] as const) {
          const res = await c.call(method, path, { body, token: tok });
          expect(res.status, `${method} ${path}`).toBe(403);
          expect(res.body.error.code).toBe("not_owner");
          expect(res.text).not.toContain(token);
        }
      }
      const rated = await c.post(`/v1/servers/${india}/rate`, { user_id: "u", rating: 5 });
      expect(rated.status).toBe(403);
      expect(rated.body.error.code).toBe("not_owner");
      expect((await c.get(`/v1/servers/${india}`)).body.server).toEqual(before);
      expect((await c.get(`/v1/servers/${india}/ratings`)).body.count).toBe(0);
    });

    it("answers a registration of the mirrored domain with 409 domain_taken", async () => {
      const res = await c.post("/v1/servers", { domain: india.toUpperCase(), name: "Mine now", api_url: `https://${india}/api` });
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe("domain_taken");
    });
  });
});
