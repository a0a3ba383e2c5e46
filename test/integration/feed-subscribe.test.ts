// /v1/feed (contract §5): hello, live-only and replaying subscriptions, filters, bad subscriptions.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { TestSocket } from "../support/ws-test-client.js";
import { subscribeAndWait } from "../support/feed.js";
import { quietFor } from "../support/wait.js";

describe("/v1/feed", () => {
  const dbUrl = freshDatabaseUrl("feedsub");
  let reg: InProcessRegistrar;
  const servers: { domain: string; token: string }[] = [];

  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, RATE_LIMIT_REGISTER: "off", RATE_LIMIT_RATE: "off", RATINGS_ANONYMOUS: "true" });
    for (let i = 0; i < 3; i++) servers.push(await register(reg.url));
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  async function newestSeq(): Promise<number> {
    const [[row]] = (await reg.node.db.query("SELECT COALESCE(MAX(seq), 0) AS seq FROM events")) as any;
    return Number(row.seq);
  }

  async function storedEvents(afterSeq: number): Promise<{ seq: number; type: string; domain: string }[]> {
    const [rows] = (await reg.node.db.query("SELECT seq, type, domain FROM events WHERE seq > ? ORDER BY seq", [afterSeq])) as any;
    return rows.map((r: any) => ({ seq: Number(r.seq), type: r.type, domain: r.domain }));
  }

  async function subscribed(sub: Record<string, unknown>): Promise<TestSocket> {
    const s = await TestSocket.open(reg.url, "/v1/feed");
    await s.op("hello");
    s.send({ op: "subscribe", ...sub });
    return s;
  }

  /** A few events of every live kind, across servers; resolves to the newest seq once all are committed. */
  async function someActivity(): Promise<number> {
    const c = api(reg.url);
    const [a, b, c2] = servers;
    await c.post(`/v1/servers/${a.domain}/rate`, { user_id: `u${Date.now()}`, rating: 3 });
    await c.put(`/v1/servers/${b.domain}`, { description: `now ${Date.now()}` }, { token: b.token });
    await c.post(`/v1/servers/${c2.domain}/rate`, { user_id: `v${Date.now()}`, rating: 5 });
    await c.put(`/v1/servers/${a.domain}`, { name: `A ${Date.now()}` }, { token: a.token });
    return newestSeq();
  }

  it("says hello with the newest event seq", async () => {
    const s = await TestSocket.open(reg.url, "/v1/feed");
    expect(await s.op("hello")).toEqual({ op: "hello", last_seq: await newestSeq() });
    s.close();
  });

  it("without after_seq delivers only events committed after the subscription, in the contract's shape", async () => {
    const s = await TestSocket.open(reg.url, "/v1/feed");
    await s.op("hello");
    await subscribeAndWait(reg.url, s);
    const from = await newestSeq();
    const upto = await someActivity();
    const last = await s.next((m) => m.op === "event" && m.seq === upto);
    const events = s.messages.filter((m) => m.op === "event");
    expect(events.map((m) => m.seq)).toEqual((await storedEvents(from)).map((e) => e.seq));
    expect(Object.keys(last).sort()).toEqual(["at", "data", "domain", "op", "seq", "type"]);
    expect(last.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    s.close();
  });

  it("with after_seq replays every retained event after it, in order, then continues live", async () => {
    const after = 2;
    const s = await subscribed({ after_seq: after });
    const mid = await newestSeq();
    await s.next((m) => m.op === "event" && m.seq === mid);
    const upto = await someActivity();
    await s.next((m) => m.op === "event" && m.seq === upto);
    expect(s.messages.filter((m) => m.op === "event").map((m) => m.seq)).toEqual((await storedEvents(after)).map((e) => e.seq));
    s.close();
  });

  it.each([
    ["types", () => ({ types: ["rating.created"] }), (e: { type: string; domain: string }) => e.type === "rating.created"],
    ["domains", () => ({ domains: [servers[0].domain.toUpperCase()] }), (e: { domain: string }) => e.domain === servers[0].domain],
    [
      "types and domains together",
      () => ({ types: ["server.updated", "server.registered"], domains: [servers[0].domain, servers[1].domain] }),
      (e: { type: string; domain: string }) =>
        ["server.updated", "server.registered"].includes(e.type) && [servers[0].domain, servers[1].domain].includes(e.domain),
    ],
  ])("filters by %s, in the replay and live", async (_what, filter, keep) => {
    const s = await subscribed({ ...filter(), after_seq: 0 });
    const fence = await subscribed({ after_seq: 0 }); // unfiltered: tells when everything was delivered
    const upto = await someActivity();
    await fence.next((m) => m.op === "event" && m.seq === upto);
    const expected = (await storedEvents(0)).filter(keep).map((e) => e.seq);
    expect(expected.length).toBeGreaterThan(0);
    await s.next((m) => m.op === "event" && m.seq === expected.at(-1));
    await quietFor(50); // absence check: nothing filtered out arrives late
    expect(s.messages.filter((m) => m.op === "event").map((m) => m.seq)).toEqual(expected);
    s.close();
    fence.close();
  });

  it("gives a client whose after_seq is the newest seq nothing old and everything new", async () => {
    const now = await newestSeq();
    const s = await subscribed({ after_seq: now });
    const upto = await someActivity();
    await s.next((m) => m.op === "event" && m.seq === upto);
    expect(s.messages.filter((m) => m.op === "event").map((m) => m.seq)).toEqual((await storedEvents(now)).map((e) => e.seq));
    s.close();
  });

  it("answers an after_seq this registrar never reached with reset, then continues live", async () => {
    const s = await subscribed({ after_seq: 1_000_000 });
    const reset = await s.op("reset");
    expect(reset).toEqual({ op: "reset", last_seq: await newestSeq() });
    const upto = await someActivity();
    await s.next((m) => m.op === "event" && m.seq === upto);
    expect(s.messages.filter((m) => m.op === "event").map((m) => m.seq)).toEqual((await storedEvents(reset.last_seq)).map((e) => e.seq));
    s.close();
  });

  it.each([
    ["an unknown event type", { op: "subscribe", types: ["server.exploded"] }],
    ["an empty type list", { op: "subscribe", types: [] }],
    ["a domain that is not a domain name", { op: "subscribe", domains: ["not a domain"] }],
    ["a negative after_seq", { op: "subscribe", after_seq: -1 }],
    ["a fractional after_seq", { op: "subscribe", after_seq: 1.5 }],
    ["an unknown field", { op: "subscribe", since: 3 }],
    ["an unknown op", { op: "identify" }],
    ["text that is not JSON", "subscribe please"],
  ])("closes a subscription with %s with 4000", async (_what, message) => {
    const s = await TestSocket.open(reg.url, "/v1/feed");
    await s.op("hello");
    s.send(message);
    expect((await s.closedWithin()).code).toBe(4000);
  });

  it("closes a second subscribe on the same connection with 4000", async () => {
    const s = await subscribed({});
    s.send({ op: "subscribe", types: ["server.status"] });
    expect((await s.closedWithin()).code).toBe(4000);
  });

  it("closes feed connections with 1012 when the node stops", async () => {
    const url = freshDatabaseUrl("feed1012");
    const other = await startRegistrar({ DATABASE_URL: url });
    try {
      const idle = await TestSocket.open(other.url, "/v1/feed");
      const live = await TestSocket.open(other.url, "/v1/feed");
      await live.op("hello");
      await subscribeAndWait(other.url, live, { after_seq: 0 });
      const stopped = other.stop();
      expect((await idle.closedWithin()).code).toBe(1012);
      expect((await live.closedWithin()).code).toBe(1012);
      await stopped;
    } finally {
      await other.stop();
      await dropDatabase(url);
    }
  });
});

async function register(url: string): Promise<{ domain: string; token: string }> {
  const body = newServer();
  const res = await api(url).post("/v1/servers", body);
  expect(res.status).toBe(201);
  return { domain: body.domain, token: res.body.token };
}
