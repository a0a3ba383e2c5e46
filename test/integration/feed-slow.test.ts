// Slow feed consumers (contract §5.4): a client that stops reading is closed with 1013 instead of being buffered
// without bound, while a client that keeps up gets every event.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { TestSocket } from "../support/ws-test-client.js";
import { subscribeAndWait } from "../support/feed.js";

describe("/v1/feed slow consumers", () => {
  const dbUrl = freshDatabaseUrl("feedslow");
  let reg: InProcessRegistrar;

  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, RATE_LIMIT_REGISTER: "off" });
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  async function slowCloses(): Promise<number> {
    const text = (await api(reg.url).get("/metrics")).text;
    return Number(/^registrar_ws_closed_total\{endpoint="feed",code="1013"\} (\d+)/m.exec(text)?.[1] ?? 0);
  }

  it("closes a subscriber that stops reading with 1013 and keeps serving one that reads", async () => {
    const c = api(reg.url);
    const servers: { domain: string; token: string }[] = [];
    for (let i = 0; i < 8; i++) {
      const body = newServer();
      servers.push({ domain: body.domain, token: (await c.post("/v1/servers", body)).body.token });
    }
    const slow = await TestSocket.open(reg.url, "/v1/feed");
    await slow.op("hello");
    await subscribeAndWait(reg.url, slow);
    const fast = await TestSocket.open(reg.url, "/v1/feed");
    const hello = await fast.op("hello");
    await subscribeAndWait(reg.url, fast, { after_seq: hello.last_seq });
    slow.ws.pause(); // stop reading: the kernel buffers fill, then the registrar's

    // ~12 KB events (every field near its limit) until the registrar gives up on `slow`: the kernel's socket
    // buffers take about 4 MB first, the registrar's bound 1 MiB more.
    const tokens = (n: number, c: string) => Array.from({ length: n }, (_, i) => `${c}${i}`.padEnd(32, c));
    const big = (domain: string, tag: string) => ({
      name: tag.padEnd(100, "n"),
      description: tag.padEnd(1000, "d"),
      api_url: `https://${domain}/${"a".repeat(2000)}`,
      ws_url: `wss://${domain}/${"w".repeat(2000)}`,
      icon: `https://cdn.example.net/${"i".repeat(2000)}`,
      voice_url: `https://voice.example.net/${"v".repeat(2000)}`,
      cdn_url: `https://cdn.example.net/${"c".repeat(2000)}`,
      protocols: tokens(16, "p"),
      capabilities: tokens(32, "k"),
    });
    let updates = 0;
    let closed = 0;
    const deadline = Date.now() + 40_000;
    while ((closed = await slowCloses()) === 0 && Date.now() < deadline) {
      for (let round = 0; round < 5; round++) {
        await Promise.all(servers.map((s) => c.put(`/v1/servers/${s.domain}`, big(s.domain, `u${updates++}`), { token: s.token }).then((r) => expect(r.status).toBe(200))));
      }
    }
    expect(closed).toBe(1);
    slow.ws.resume();
    expect((await slow.closedWithin(10_000)).code).toBe(1013);
    const received = slow.messages.filter((m) => m.op === "event").length;
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(updates);

    const [rows] = (await reg.node.db.query("SELECT seq FROM events WHERE seq > ? ORDER BY seq", [hello.last_seq])) as any;
    const expected = rows.map((r: any) => Number(r.seq));
    await fast.next((m) => m.op === "event" && m.seq === expected.at(-1), 10_000);
    expect(fast.messages.filter((m) => m.op === "event").map((m) => m.seq)).toEqual(expected);
    fast.close();
  }, 55_000);
});
