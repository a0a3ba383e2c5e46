// The SDK's Feed against real nodes: resumes from its last seq across a node shutdown with no gap and no
// duplicate, handles reset, passes filters, stops on a subscription the registrar refuses.
import { afterAll, describe, expect, it, vi } from "vitest";
import { Feed, RegistrarClient, SessionClosedError, type RegistryEvent } from "../../client/index.js";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { metric } from "../support/federation.js";

const FAST_BACKOFF = { initialMs: 50, maxMs: 200, restartJitterMs: 100 };

async function storedSeqs(reg: InProcessRegistrar, afterSeq: number): Promise<number[]> {
  const [rows] = (await reg.node.db.query("SELECT seq FROM events WHERE seq > ? ORDER BY seq", [afterSeq])) as any;
  return rows.map((r: any) => Number(r.seq));
}

describe("Feed across a node shutdown", () => {
  const dbUrl = freshDatabaseUrl("sdkfeed");
  const nodes: InProcessRegistrar[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.stop();
    await dropDatabase(dbUrl);
  });

  it("resumes after its last seq on the next node: every committed event once, in order", async () => {
    const env = { DATABASE_URL: dbUrl, RATE_LIMIT_REGISTER: "off", RATE_LIMIT_RATE: "off", RATINGS_ANONYMOUS: "true" };
    const a = await startRegistrar(env);
    nodes.push(a);
    const httpA = new RegistrarClient(a.url);
    const server = await httpA.registerServer(newServer());
    const domain = server.server.domain;
    const b = await startRegistrar(env);
    nodes.push(b);
    const httpB = new RegistrarClient(b.url);

    const feed = new Feed({ urls: [a.url, b.url], backoff: FAST_BACKOFF });
    const got: RegistryEvent[] = [];
    const statuses: { status: string; url: string; code?: number }[] = [];
    feed.on("event", (ev) => got.push(ev));
    feed.on("status", (status, info) => statuses.push({ status, url: info.url, code: info.code }));
    feed.start();
    await vi.waitFor(() => expect(feed.status).toBe("subscribed"));
    await vi.waitFor(async () => expect(await metric(a.url, "registrar_feed_subscribers")).toBe(1), { interval: 10 });
    const start = feed.position!;

    for (let i = 0; i < 10; i++) await httpA.rateServer(domain, { user_id: `a${i}`, rating: 4 });
    const stopping = a.stop(); // 1012 while (possibly) events are still in flight
    for (let i = 0; i < 10; i++) await httpB.rateServer(domain, { user_id: `b${i}`, rating: 2 });
    await stopping;
    await httpB.updateServer(domain, server.token, { name: "After the move" });

    const expected = await storedSeqs(b, start);
    await vi.waitFor(() => expect(got.at(-1)?.seq).toBe(expected.at(-1)), { timeout: 10_000 });
    expect(got.map((e) => e.seq)).toEqual(expected);
    expect(got.at(-1)).toMatchObject({ type: "server.updated", domain, data: { name: "After the move" } });
    expect(got[0]).not.toHaveProperty("op");
    expect(statuses.find((s) => s.status === "reconnecting")).toMatchObject({ code: 1012, url: b.url });
    expect(feed.position).toBe(expected.at(-1));
    await feed.stop();
  }, 30_000);
});

describe("Feed on one node", () => {
  const dbUrl = freshDatabaseUrl("sdkfeed1");
  let reg: InProcessRegistrar;
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("reports reset for a position the registrar cannot replay, then continues from last_seq", async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, RATE_LIMIT_REGISTER: "off", RATINGS_ANONYMOUS: "true" });
    const http = new RegistrarClient(reg.url);
    await http.registerServer(newServer());
    const feed = new Feed({ urls: reg.url, afterSeq: 999_999 });
    const resets: number[] = [];
    const got: number[] = [];
    feed.on("reset", ({ lastSeq }) => resets.push(lastSeq));
    feed.on("event", (ev) => got.push(ev.seq));
    feed.start();
    await vi.waitFor(() => expect(resets).toHaveLength(1));
    expect(resets[0]).toBe((await storedSeqs(reg, 0)).at(-1));
    expect(feed.position).toBe(resets[0]);
    await http.registerServer(newServer());
    const expected = await storedSeqs(reg, resets[0]);
    expect(expected).toHaveLength(1);
    await vi.waitFor(() => expect(got).toEqual(expected));
    await feed.stop();
  });

  it("passes its filters to the registrar", async () => {
    const http = new RegistrarClient(reg.url);
    const watched = await http.registerServer(newServer());
    const other = await http.registerServer(newServer());
    const feed = new Feed({ urls: reg.url, types: ["rating.created"], domains: [watched.server.domain] });
    const got: RegistryEvent[] = [];
    feed.on("event", (ev) => got.push(ev));
    feed.start();
    await vi.waitFor(() => expect(feed.status).toBe("subscribed"));
    await vi.waitFor(async () => expect(await metric(reg.url, "registrar_feed_subscribers")).toBe(1), { interval: 10 });
    await http.rateServer(other.server.domain, { user_id: "x", rating: 1 });
    await http.updateServer(watched.server.domain, watched.token, { name: "Watched" });
    const { rating } = await http.rateServer(watched.server.domain, { user_id: "y", rating: 5 });
    await vi.waitFor(() => expect(got).toHaveLength(1));
    expect(got[0]).toMatchObject({ type: "rating.created", domain: watched.server.domain, data: { rating } });
    await feed.stop();
  });

  it("stops with an error when the registrar refuses the subscription (4000)", async () => {
    const feed = new Feed({ urls: reg.url, types: ["server.exploded" as never], backoff: FAST_BACKOFF });
    const errors: Error[] = [];
    feed.on("error", (err) => errors.push(err));
    feed.start();
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect((errors[0] as SessionClosedError).code).toBe(4000);
    expect(feed.status).toBe("stopped");
  });
});
