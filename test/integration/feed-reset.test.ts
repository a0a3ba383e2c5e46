// Feed retention (contract §5.2): events older than FEED_RETENTION_DAYS are pruned on a schedule, and a client
// whose after_seq is older than that gets reset, then live events.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { TestSocket } from "../support/ws-test-client.js";

// 0.00003 days = 2.592 s of retention; pruning then runs every second.
const RETENTION_MS = 0.00003 * 86_400_000;

describe("/v1/feed retention and reset", () => {
  const dbUrl = freshDatabaseUrl("feedreset");
  let reg: InProcessRegistrar;

  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, FEED_RETENTION_DAYS: "0.00003", RATE_LIMIT_REGISTER: "off" });
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  async function seqs(): Promise<number[]> {
    const [rows] = (await reg.node.db.query("SELECT seq FROM events ORDER BY seq")) as any;
    return rows.map((r: any) => Number(r.seq));
  }

  async function subscribe(afterSeq: number): Promise<TestSocket> {
    const s = await TestSocket.open(reg.url, "/v1/feed");
    await s.op("hello");
    s.send({ op: "subscribe", after_seq: afterSeq });
    return s;
  }

  it("prunes events past the window on its own, resets a client that is behind it, and keeps replaying within it", async () => {
    const c = api(reg.url);
    const first = newServer();
    expect((await c.post("/v1/servers", first)).status).toBe(201);
    const [oldSeq] = await seqs();
    const writtenMs = Date.now();
    await vi.waitFor(async () => expect(await seqs()).not.toContain(oldSeq), { timeout: RETENTION_MS + 4000, interval: 100 });
    expect(Date.now() - writtenMs).toBeGreaterThanOrEqual(RETENTION_MS - 50);

    const second = newServer();
    expect((await c.post("/v1/servers", second)).status).toBe(201);
    const [recent] = await seqs();

    // Behind the window: reset with the newest seq, then the subscription continues live.
    const behind = await subscribe(oldSeq - 1);
    const reset = await behind.op("reset");
    expect(reset).toEqual({ op: "reset", last_seq: recent });
    // Within the window: an ordinary replay.
    const within = await subscribe(oldSeq);
    expect(await within.next((m) => m.op === "event")).toMatchObject({ seq: recent, type: "server.registered", domain: second.domain });

    const third = newServer();
    expect((await c.post("/v1/servers", third)).status).toBe(201);
    const live = await behind.next((m) => m.op === "event");
    expect(live).toMatchObject({ type: "server.registered", domain: third.domain });
    expect(live.seq).toBeGreaterThan(recent);
    expect(behind.messages.filter((m) => m.op === "event")).toHaveLength(1);
    await within.next((m) => m.op === "event" && m.seq === live.seq);
    expect(within.messages.filter((m) => m.op === "event").map((m) => m.seq)).toEqual([recent, live.seq]);

    const metrics = (await c.get("/metrics")).text;
    expect(metrics).toMatch(/^registrar_feed_resets_total 1$/m);
    expect(Number(/^registrar_feed_pruned_events_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    behind.close();
    within.close();
  }, 30_000);
});
