// Fair webhook delivery (issue 8, security review H2): receivers that accept TCP and never answer (a tarpit),
// registered by several servers, next to a healthy receiver of another server. Before the fix every tarpit
// delivery took a slot for the whole timeout, FIFO over the whole table, and the healthy server's events waited
// behind the backlog (here ~150 deliveries × 1 s / 4 slots ≈ 40 s); now they arrive within about one timeout.
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

const TIMEOUT_MS = 1000;
const ENV = {
  ALLOW_PRIVATE_WEBHOOKS: "true",
  ALLOW_INSECURE_URLS: "true",
  RATE_LIMIT_REGISTER: "off",
  WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
  WEBHOOK_CONNECT_TIMEOUT_MS: "500",
  WEBHOOK_CONCURRENCY: "4",
  WEBHOOK_POLL_MS: "100",
  WEBHOOK_RETRY_BASE_MS: "50",
  WEBHOOK_RETRY_MAX_MS: "200",
  WEBHOOK_PAUSE_AFTER_TIMEOUTS: "3",
  WEBHOOK_PAUSE_S: "600",
  WEBHOOK_MAX_PENDING: "8",
};
/** Deliveries of the healthy receiver must arrive within this of the write (about one tarpit timeout, loaded CI). */
const PROMPT_MS = 3 * TIMEOUT_MS + 1500;
const ATTACKERS = 3;
const HOOKS_PER_ATTACKER = 5;
const ATTACK_WRITES = 10;

/** Accepts connections and never answers: every attempt holds its slot until the registrar's time limit. */
async function startTarpit() {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: (path: string) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/${path}`,
    get accepted() {
      return accepted;
    },
    get open() {
      return sockets.size;
    },
    close: () => new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    }),
  };
}

async function startReceiver() {
  const received: { seq: number; at: number }[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push({ seq: JSON.parse(body).seq, at: Date.now() });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe("webhook fairness with tarpit receivers", () => {
  const dbUrl = freshDatabaseUrl("whfair");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  let sql: Awaited<ReturnType<typeof connect>>;
  let tarpit: Awaited<ReturnType<typeof startTarpit>>;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const attackers: { domain: string; token: string; hooks: string[] }[] = [];
  let victim: { domain: string; token: string; hook: string };

  async function register() {
    const s = newServer();
    const r = await c.post("/v1/servers", s);
    expect(r.status).toBe(201);
    return { domain: s.domain as string, token: r.body.token as string };
  }
  async function addHook(domain: string, token: string, url: string): Promise<string> {
    const r = await c.post(`/v1/servers/${domain}/webhooks`, { url }, { token });
    expect(r.status).toBe(201);
    return r.body.webhook.id;
  }
  async function latestSeq(domain: string): Promise<number> {
    const [[row]] = (await sql.query("SELECT MAX(seq) AS seq FROM events WHERE domain = ?", [domain])) as any;
    return Number(row.seq);
  }

  beforeAll(async () => {
    tarpit = await startTarpit();
    receiver = await startReceiver();
    reg = await startRegistrar({ DATABASE_URL: dbUrl, ...ENV });
    c = api(reg.url);
    sql = await connect(dbUrl);
    for (let a = 0; a < ATTACKERS; a++) {
      const s = await register();
      const hooks: string[] = [];
      for (let h = 0; h < HOOKS_PER_ATTACKER; h++) hooks.push(await addHook(s.domain, s.token, tarpit.url(`a${a}h${h}`)));
      attackers.push({ ...s, hooks });
    }
    const v = await register();
    victim = { ...v, hook: await addHook(v.domain, v.token, receiver.url) };
  });
  afterAll(async () => {
    await sql?.end();
    await reg?.stop();
    await tarpit?.close();
    await receiver?.close();
    await dropDatabase(dbUrl);
  });

  it("delivers a healthy receiver's events promptly while tarpits hold slots, and pauses the tarpits after repeated timeouts", async () => {
    // The attack: every write of an attacker makes one delivery per tarpit webhook.
    for (let i = 0; i < ATTACK_WRITES; i++) {
      for (const a of attackers) expect((await c.put(`/v1/servers/${a.domain}`, { description: `x${i}` }, { token: a.token })).status).toBe(200);
    }
    // Every slot of the node is busy with a tarpit before the victim writes.
    await vi.waitFor(() => expect(tarpit.open).toBeGreaterThanOrEqual(4), { timeout: 10_000, interval: 20 });

    const latencies: number[] = [];
    for (let i = 0; i < 3; i++) {
      const put = Date.now();
      expect((await c.put(`/v1/servers/${victim.domain}`, { description: `v${i}` }, { token: victim.token })).status).toBe(200);
      const seq = await latestSeq(victim.domain);
      const got = await vi.waitFor(
        () => {
          const r = receiver.received.find((x) => x.seq === seq);
          expect(r).toBeDefined();
          return r!;
        },
        { timeout: PROMPT_MS + 5000, interval: 20 },
      );
      latencies.push(got.at - put);
    }
    console.log(`healthy receiver latency under the tarpit attack: ${latencies.join(", ")} ms (bound ${PROMPT_MS} ms)`);
    for (const ms of latencies) expect(ms).toBeLessThan(PROMPT_MS);

    // Each tarpit webhook is paused after WEBHOOK_PAUSE_AFTER_TIMEOUTS timeouts in a row and reported as such.
    await vi.waitFor(
      async () => {
        for (const a of attackers) {
          const list = await c.get(`/v1/servers/${a.domain}/webhooks`, { token: a.token });
          for (const w of list.body.webhooks) expect(Date.parse(w.paused_until)).toBeGreaterThan(Date.now() + 500_000);
        }
      },
      { timeout: 60_000, interval: 250 },
    );
    const victimHooks = await c.get(`/v1/servers/${victim.domain}/webhooks`, { token: victim.token });
    expect(victimHooks.body.webhooks[0].paused_until).toBeNull();
    const [[paused]] = (await sql.query("SELECT COUNT(*) AS n, MIN(consecutive_timeouts) AS t FROM webhooks WHERE paused_until IS NOT NULL")) as any;
    expect(Number(paused.n)).toBe(ATTACKERS * HOOKS_PER_ATTACKER);
    expect(Number(paused.t)).toBe(3);
    expect(reg.logs.filter((l) => l.msg === "webhook paused: it keeps timing out").length).toBe(ATTACKERS * HOOKS_PER_ATTACKER);

    // Paused: no further connections to the tarpit, whatever the attackers write.
    const before = tarpit.accepted;
    await c.put(`/v1/servers/${attackers[0].domain}`, { description: "more" }, { token: attackers[0].token });
    const put = Date.now();
    await c.put(`/v1/servers/${victim.domain}`, { description: "after" }, { token: victim.token });
    const seq = await latestSeq(victim.domain);
    await vi.waitFor(() => expect(receiver.received.some((x) => x.seq === seq)).toBe(true), { timeout: PROMPT_MS, interval: 20 });
    expect(Date.now() - put).toBeLessThan(PROMPT_MS);
    expect(tarpit.accepted).toBe(before);

    const metrics = (await c.get("/metrics")).text;
    expect(metrics).toMatch(new RegExp(`^registrar_webhook_pauses_total ${ATTACKERS * HOOKS_PER_ATTACKER}$`, "m"));
  });

  it("keeps at most WEBHOOK_MAX_PENDING pending deliveries per webhook, dropping the oldest, and counts them", async () => {
    const a = attackers[1];
    const hook = a.hooks[0];
    // One more event while nothing of this webhook is in flight (it is paused): its queue is trimmed to the bound.
    expect((await c.put(`/v1/servers/${a.domain}`, { description: "last" }, { token: a.token })).status).toBe(200);
    const last = await latestSeq(a.domain);
    type Row = { seq: number; status: string; last_error: string | null };
    const list = await vi.waitFor(async () => {
      const r = await c.get(`/v1/servers/${a.domain}/webhooks/${hook}/deliveries?limit=100`, { token: a.token });
      expect(r.status).toBe(200);
      const rows = r.body.deliveries as Row[];
      expect(rows[0].seq).toBe(last);
      expect(rows.filter((d) => d.status === "pending").length).toBe(8);
      return rows;
    });
    expect(list.length).toBe(ATTACK_WRITES + 1);
    const pending = list.filter((d) => d.status === "pending");
    const dropped = list.filter((d) => d.status === "dropped");
    expect(dropped.length).toBe(ATTACK_WRITES + 1 - 8);
    // The webhook is paused: its pending deliveries are due when the pause ends, not before.
    const pausedUntil = Date.parse((await c.get(`/v1/servers/${a.domain}/webhooks`, { token: a.token })).body.webhooks[0].paused_until);
    for (const d of list.filter((x) => x.status === "pending")) expect(Date.parse((d as any).next_attempt_at)).toBeGreaterThanOrEqual(pausedUntil);
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped[0].last_error).toBe("dropped: more than 8 pending deliveries");
    // The oldest went: every dropped delivery is older than every pending one.
    expect(Math.max(...dropped.map((d) => d.seq))).toBeLessThan(Math.min(...pending.map((d) => d.seq)));
    // The counter is bumped when the enqueue of the last event has trimmed all five webhooks' queues.
    await vi.waitFor(async () => {
      const [[row]] = (await sql.query("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'dropped'")) as any;
      expect((await c.get("/metrics")).text).toMatch(new RegExp(`^registrar_webhook_dropped_total ${Number(row.n)}$`, "m"));
    });
  });

  it("reports a metric when webhook secrets are stored in clear (review L3)", async () => {
    expect((await c.get("/metrics")).text).toMatch(/^registrar_webhook_secrets_in_clear 1$/m);
    const [[row]] = (await sql.query("SELECT secret FROM webhooks WHERE id = ?", [victim.hook])) as any;
    expect(row.secret).toMatch(/^plain:/);
  });
});
