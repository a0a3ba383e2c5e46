// Webhook deliveries end to end (issue 4): a real receiver on 127.0.0.1, signatures, retries, idempotency, and two
// registrar nodes on one database delivering each event once.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { verifySignature } from "../../src/webhooks/signature.js";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

type Received = { headers: http.IncomingHttpHeaders; body: string; at: number };

/** A webhook receiver: answers each request with the next status of `script` (then 200), records everything. */
async function startReceiver(script: number[] = []) {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push({ headers: req.headers, body, at: Date.now() });
      res.writeHead(script.shift() ?? 200, { "content-type": "text/plain" }).end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    bySeq: (seq: number) => received.filter((r) => JSON.parse(r.body).seq === seq),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const ENV = {
  ALLOW_PRIVATE_WEBHOOKS: "true",
  ALLOW_INSECURE_URLS: "true",
  WEBHOOK_RETRY_BASE_MS: "50",
  WEBHOOK_RETRY_MAX_MS: "200",
  WEBHOOK_POLL_MS: "100",
  RATE_LIMIT_REGISTER: "off",
  RATINGS_ANONYMOUS: "true",
  RATE_LIMIT_RATE: "off",
};

async function registerWithHook(c: ReturnType<typeof api>, url: string, extra: Record<string, unknown> = {}) {
  const s = newServer();
  const reg = await c.post("/v1/servers", s);
  expect(reg.status).toBe(201);
  const hook = await c.post(`/v1/servers/${s.domain}/webhooks`, { url, ...extra }, { token: reg.body.token });
  expect(hook.status).toBe(201);
  return { domain: s.domain, token: reg.body.token as string, hookId: hook.body.webhook.id as string, secret: hook.body.secret as string };
}

async function update(c: ReturnType<typeof api>, domain: string, token: string, name: string): Promise<number> {
  const r = await c.put(`/v1/servers/${domain}`, { name }, { token });
  expect(r.status).toBe(200);
  // The seq of the server.updated event just committed: the newest event about this domain.
  return latestSeq(domain);
}

let dbUrl: string;
let sql: Awaited<ReturnType<typeof connect>>;
async function latestSeq(domain: string): Promise<number> {
  const [[row]] = (await sql.query("SELECT MAX(seq) AS seq FROM events WHERE domain = ?", [domain])) as any;
  return Number(row.seq);
}

describe("webhook deliveries", () => {
  dbUrl = freshDatabaseUrl("whdeliv");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, ...ENV });
    c = api(reg.url);
    sql = await connect(dbUrl);
  });
  afterAll(async () => {
    await sql?.end();
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("POSTs the event as signed JSON that the receiver verifies with the secret from registration", async () => {
    const rx = await startReceiver();
    try {
      const h = await registerWithHook(c, rx.url);
      const seq = await update(c, h.domain, h.token, "Renamed once");
      await vi.waitFor(() => expect(rx.received.length).toBe(1), { timeout: 5000 });
      const got = rx.received[0];
      expect(got.headers["content-type"]).toBe("application/json");
      expect(got.headers["x-zent-event"]).toBe("server.updated");
      expect(got.headers["idempotency-key"]).toBe(String(seq));
      expect(got.headers["x-zent-delivery"]).toMatch(/^\d+$/);
      expect(got.headers["x-zent-signature"]).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      expect(verifySignature(got.headers["x-zent-signature"] as string, got.body, h.secret)).toBe(true);
      // A different secret or a tampered body does not verify.
      expect(verifySignature(got.headers["x-zent-signature"] as string, got.body, "0".repeat(64))).toBe(false);
      expect(verifySignature(got.headers["x-zent-signature"] as string, got.body.replace("Renamed", "Renamee"), h.secret)).toBe(false);
      const payload = JSON.parse(got.body);
      expect(payload).toMatchObject({ seq, type: "server.updated", domain: h.domain });
      expect(payload.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(Object.keys(payload).sort()).toEqual(["at", "data", "domain", "seq", "type"]);
    } finally {
      await rx.close();
    }
  });

  it("retries after the receiver answered 500 twice, succeeds on the third attempt and never delivers it again", async () => {
    const rx = await startReceiver([500, 500]);
    try {
      const h = await registerWithHook(c, rx.url);
      const seq = await update(c, h.domain, h.token, "Flaky receiver");
      await vi.waitFor(() => expect(rx.bySeq(seq).length).toBe(3), { timeout: 10_000 });
      const list = await vi.waitFor(async () => {
        const r = await c.get(`/v1/servers/${h.domain}/webhooks/${h.hookId}/deliveries`, { token: h.token });
        expect(r.body.deliveries[0].status).toBe("succeeded");
        return r;
      });
      expect(list.status).toBe(200);
      const d = list.body.deliveries[0];
      expect(d).toMatchObject({ seq, type: "server.updated", status: "succeeded", attempts: 3, last_status_code: 200, last_error: null, next_attempt_at: null });
      expect(d.history.map((a: any) => [a.attempt, a.status_code])).toEqual([[1, 500], [2, 500], [3, 200]]);
      expect(d.history[0].error).toBe("HTTP 500");
      // Every attempt is the same delivery of the same event: same delivery id and idempotency key.
      const attempts = rx.bySeq(seq);
      expect(new Set(attempts.map((a) => a.headers["x-zent-delivery"])).size).toBe(1);
      expect(new Set(attempts.map((a) => a.body)).size).toBe(1);
      // Barrier instead of a sleep: a later event is delivered, and the succeeded one was not sent again.
      const later = await update(c, h.domain, h.token, "Later event");
      await vi.waitFor(() => expect(rx.bySeq(later).length).toBe(1), { timeout: 5000 });
      expect(rx.bySeq(seq).length).toBe(3);
      const [[row]] = (await sql.query("SELECT status, attempts FROM webhook_deliveries WHERE seq = ?", [seq])) as any;
      expect(row).toMatchObject({ status: "succeeded", attempts: 3 });
      const metrics = (await c.get("/metrics")).text;
      expect(Number(/registrar_webhook_attempts_total\{outcome="retry"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
      expect(Number(/registrar_webhook_attempts_total\{outcome="succeeded"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    } finally {
      await rx.close();
    }
  });

  it("delivers only the event types a webhook subscribed to", async () => {
    const rx = await startReceiver();
    try {
      const h = await registerWithHook(c, rx.url, { events: ["rating.created"] });
      await update(c, h.domain, h.token, "Not delivered");
      const rated = await c.post(`/v1/servers/${h.domain}/rate`, { user_id: "u1", rating: 5 });
      expect(rated.status).toBe(201);
      await vi.waitFor(() => expect(rx.received.length).toBe(1), { timeout: 5000 });
      expect(JSON.parse(rx.received[0].body).type).toBe("rating.created");
      const list = await c.get(`/v1/servers/${h.domain}/webhooks/${h.hookId}/deliveries`, { token: h.token });
      expect(list.body.deliveries.map((d: any) => d.type)).toEqual(["rating.created"]);
    } finally {
      await rx.close();
    }
  });

  it("sends each webhook of a server its own delivery, signed with its own secret", async () => {
    const rxA = await startReceiver();
    const rxB = await startReceiver();
    try {
      const h = await registerWithHook(c, rxA.url);
      const second = await c.post(`/v1/servers/${h.domain}/webhooks`, { url: rxB.url }, { token: h.token });
      const seq = await update(c, h.domain, h.token, "Two hooks");
      await vi.waitFor(() => expect([rxA.bySeq(seq).length, rxB.bySeq(seq).length]).toEqual([1, 1]), { timeout: 5000 });
      const b = rxB.bySeq(seq)[0];
      expect(verifySignature(b.headers["x-zent-signature"] as string, b.body, second.body.secret)).toBe(true);
      expect(verifySignature(b.headers["x-zent-signature"] as string, b.body, h.secret)).toBe(false);
    } finally {
      await rxA.close();
      await rxB.close();
    }
  });

  it("stops retrying and marks the delivery failed once the give-up horizon has passed", async () => {
    const failing = await startRegistrar({ DATABASE_URL: dbUrl, ...ENV, WEBHOOK_GIVE_UP_AFTER_S: "0.3" });
    const rx = await startReceiver(Array(1000).fill(503));
    try {
      const fc = api(failing.url);
      const h = await registerWithHook(fc, rx.url);
      const seq = await update(fc, h.domain, h.token, "Always failing");
      const d = await vi.waitFor(
        async () => {
          const r = await fc.get(`/v1/servers/${h.domain}/webhooks/${h.hookId}/deliveries`, { token: h.token });
          expect(r.body.deliveries[0]?.status).toBe("failed");
          return r.body.deliveries[0];
        },
        { timeout: 10_000 },
      );
      expect(d.seq).toBe(seq);
      expect(d.attempts).toBeGreaterThanOrEqual(1);
      expect(d.attempts).toBe(rx.bySeq(seq).length);
      expect(d).toMatchObject({ last_status_code: 503, last_error: "HTTP 503", next_attempt_at: null });
    } finally {
      await failing.stop();
      await rx.close();
    }
  });
});

describe("two registrar nodes on one database", () => {
  const url2 = freshDatabaseUrl("whtwo");
  let a: InProcessRegistrar;
  let b: InProcessRegistrar;
  let sql2: Awaited<ReturnType<typeof connect>>;
  beforeAll(async () => {
    a = await startRegistrar({ DATABASE_URL: url2, ...ENV, NODE_ID: "node-a", WEBHOOK_POLL_MS: "20" });
    b = await startRegistrar({ DATABASE_URL: url2, ...ENV, NODE_ID: "node-b", WEBHOOK_POLL_MS: "20" });
    sql2 = await connect(url2);
  });
  afterAll(async () => {
    await sql2?.end();
    await a?.stop();
    await b?.stop();
    await dropDatabase(url2);
  });

  it("deliver each event exactly once although both enqueue it and both run delivery workers", async () => {
    const rx = await startReceiver();
    try {
      const ca = api(a.url);
      const cb = api(b.url);
      const h = await registerWithHook(ca, rx.url);
      // Without NATS the nodes share only MySQL: the server lives in A's directory. Each rating on A is followed by
      // an event on B (a registration), whose sequencer then fills A's event in from MySQL, so both nodes enqueue
      // every rating and both workers compete for the rows.
      for (let i = 0; i < 20; i++) {
        const r = await ca.post(`/v1/servers/${h.domain}/rate`, { user_id: `user-${i}`, rating: 1 + (i % 5) });
        expect(r.status).toBe(201);
        expect((await cb.post("/v1/servers", newServer())).status).toBe(201);
      }
      const [seqRows] = (await sql2.query("SELECT seq FROM events WHERE domain = ? AND type = 'rating.created' ORDER BY seq", [h.domain])) as any;
      const seqs: number[] = seqRows.map((r: any) => Number(r.seq));
      expect(seqs).toHaveLength(20);
      await vi.waitFor(() => expect(new Set(rx.received.map((r) => JSON.parse(r.body).seq)).size).toBe(20), { timeout: 10_000 });
      // Barrier: one more event delivered means any duplicate of the earlier ones would have been sent by now.
      const last = await c2Rate(ca, h.domain);
      await vi.waitFor(() => expect(rx.bySeq(last).length).toBe(1), { timeout: 5000 });
      for (const seq of seqs) expect(rx.bySeq(seq).length, `seq ${seq}`).toBe(1);
      // The outcome is recorded just after the receiver answered: wait for it, then every delivery took one attempt.
      await vi.waitFor(async () => {
        const [[count]] = (await sql2.query("SELECT COUNT(*) AS n, SUM(status = 'succeeded') AS ok, SUM(attempts) AS attempts FROM webhook_deliveries")) as any;
        expect([Number(count.n), Number(count.ok), Number(count.attempts)]).toEqual([21, 21, 21]);
      });
      // Regression: claims made with a plain UPDATE … ORDER BY … LIMIT deadlocked against the other node's
      // outcome writes; a lost outcome write means a second delivery once the lease expires.
      const storeErrors = [...a.logs, ...b.logs].filter((l) => l.op === "webhooks");
      if (storeErrors.length) console.log("STOREERR", JSON.stringify(storeErrors).slice(0, 1500));
      expect(storeErrors).toEqual([]);
    } finally {
      await rx.close();
    }

    async function c2Rate(client: ReturnType<typeof api>, domain: string): Promise<number> {
      const r = await client.post(`/v1/servers/${domain}/rate`, { user_id: "barrier", rating: 3 });
      expect(r.status).toBe(201);
      const [[row]] = (await sql2.query("SELECT MAX(seq) AS seq FROM events WHERE domain = ?", [domain])) as any;
      return Number(row.seq);
    }
  });
});

describe("webhook deliveries with WEBHOOK_SECRET_KEY", () => {
  const url4 = freshDatabaseUrl("whsealed");
  let r: InProcessRegistrar;
  let db4: Awaited<ReturnType<typeof connect>>;
  beforeAll(async () => {
    r = await startRegistrar({ DATABASE_URL: url4, ...ENV, WEBHOOK_SECRET_KEY: "ab".repeat(32) });
    db4 = await connect(url4);
  });
  afterAll(async () => {
    await db4?.end();
    await r?.stop();
    await dropDatabase(url4);
  });

  it("stores the secret sealed and bound to the webhook id, signs deliveries with it, and does not warn or report clear secrets", async () => {
    const rcv = await startReceiver();
    try {
      const c = api(r.url);
      const h = await registerWithHook(c, rcv.url);
      const [[row]] = (await db4.query("SELECT secret FROM webhooks WHERE id = ?", [h.hookId])) as any;
      expect(row.secret).toMatch(/^aesgcm2:/);
      expect(row.secret).not.toContain(h.secret);
      expect((await c.put(`/v1/servers/${h.domain}`, { name: "Sealed" }, { token: h.token })).status).toBe(200);
      await vi.waitFor(() => expect(rcv.received.length).toBeGreaterThan(0), { timeout: 10_000 });
      const got = rcv.received[0];
      expect(verifySignature(got.headers["x-zent-signature"] as string, got.body, h.secret)).toBe(true);
      expect(r.logs.some((l) => /stored in clear/.test(String(l.msg)))).toBe(false);
      expect((await c.get("/metrics")).text).toMatch(/^registrar_webhook_secrets_in_clear 0$/m);
    } finally {
      await rcv.close();
    }
  });
});

describe("enqueueing and claiming from two nodes", () => {
  const url3 = freshDatabaseUrl("whrace");
  let a: InProcessRegistrar;
  let b: InProcessRegistrar;
  beforeAll(async () => {
    // Workers poll rarely here and nothing kicks them (the repositories are driven directly), so rows stay put.
    a = await startRegistrar({ DATABASE_URL: url3, ...ENV, NODE_ID: "race-a", WEBHOOK_POLL_MS: "60000" });
    b = await startRegistrar({ DATABASE_URL: url3, ...ENV, NODE_ID: "race-b", WEBHOOK_POLL_MS: "60000" });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await dropDatabase(url3);
  });

  it("creates one delivery when both nodes enqueue the same event, and each due delivery is claimed by one node", async () => {
    const { DeliveriesRepo, QUEUE_DEFAULTS } = await import("../../src/webhooks/deliveries-repo.js");
    // Caps far above the row count: this case is about exclusive claims, not the fairness caps.
    const limits = { ...QUEUE_DEFAULTS, maxInFlightPerWebhook: 64, maxInFlightPerDomain: 64 };
    const ra = new DeliveriesRepo(a.node.db, limits);
    const rb = new DeliveriesRepo(b.node.db, limits);
    const c = api(a.url);
    const h = await registerWithHook(c, "http://127.0.0.1:9/unused");
    const events = Array.from({ length: 40 }, (_, i) => ({
      seq: 1_000_000 + i, type: "server.updated" as const, domain: h.domain, origin: "local", at: new Date().toISOString(), data: { i },
    }));
    const [na, nb] = await Promise.all([ra.enqueue(events), rb.enqueue(events)]);
    expect(na.created + nb.created).toBe(40);
    expect(await ra.enqueue(events)).toEqual({ created: 0, dropped: 0 });
    const [ca, cb] = await Promise.all([ra.claim("race-a", 40, 60_000), rb.claim("race-b", 40, 60_000)]);
    const ids = [...ca, ...cb].map((d) => d.id);
    expect(ids.length).toBe(40);
    expect(new Set(ids).size).toBe(40);
    // Leased rows are not claimable again until the lease ends.
    expect(await ra.claim("race-a", 40, 60_000)).toEqual([]);
    await ra.release(ca);
    expect((await rb.claim("race-b", 40, 60_000)).length).toBe(ca.length);
  });

  it("holds the in-flight caps per webhook and per domain across nodes claiming at the same time (issue 8)", async () => {
    const { DeliveriesRepo, QUEUE_DEFAULTS } = await import("../../src/webhooks/deliveries-repo.js");
    const limits = { ...QUEUE_DEFAULTS, maxInFlightPerWebhook: 1, maxInFlightPerDomain: 2 };
    const ra = new DeliveriesRepo(a.node.db, limits);
    const rb = new DeliveriesRepo(b.node.db, limits);
    const c = api(a.url);
    const h = await registerWithHook(c, "http://127.0.0.1:9/one");
    for (const path of ["two", "three"]) {
      expect((await c.post(`/v1/servers/${h.domain}/webhooks`, { url: `http://127.0.0.1:9/${path}` }, { token: h.token })).status).toBe(201);
    }
    const other = await registerWithHook(c, "http://127.0.0.1:9/other");
    const events = (domain: string, base: number) => Array.from({ length: 10 }, (_, i) => ({
      seq: base + i, type: "server.updated" as const, domain, origin: "local", at: new Date().toISOString(), data: { i },
    }));
    expect((await ra.enqueue([...events(h.domain, 3_000_000), ...events(other.domain, 3_100_000)])).created).toBe(40);
    const [ca, cb] = await Promise.all([ra.claim("race-a", 10, 60_000), rb.claim("race-b", 10, 60_000)]);
    const all = [...ca, ...cb];
    const count = (key: (d: (typeof all)[number]) => string) => all.reduce((m, d) => m.set(key(d), (m.get(key(d)) ?? 0) + 1), new Map<string, number>());
    expect(count((d) => d.domain).get(h.domain)).toBe(2);
    expect(count((d) => d.domain).get(other.domain)).toBe(1);
    expect(Math.max(...count((d) => d.webhookId).values())).toBe(1);
    // Nothing more while those are in flight. A finished attempt frees its slot, and round robin gives it to the
    // domain's webhook that had no attempt yet (its oldest row), not to the next row of the one just served.
    expect(await ra.claim("race-a", 10, 60_000)).toEqual([]);
    const done = all.find((d) => d.domain === h.domain)!;
    expect(await ra.complete(done, "race-a", { kind: "succeeded", statusCode: 200, durationMs: 1 })).toBe(true);
    const next = await rb.claim("race-b", 10, 60_000);
    expect(next).toHaveLength(1);
    expect(next[0].domain).toBe(h.domain);
    expect(all.map((d) => d.webhookId)).not.toContain(next[0].webhookId);
    expect(next[0].seq).toBe(3_000_000);
    // Leave no due rows behind for the next case (deleting the webhooks drops their deliveries).
    for (const s of [h, other]) {
      for (const w of (await c.get(`/v1/servers/${s.domain}/webhooks`, { token: s.token })).body.webhooks) {
        expect((await c.del(`/v1/servers/${s.domain}/webhooks/${w.id}`, { token: s.token })).status).toBe(204);
      }
    }
  });

  it("lets another node take a delivery whose claim outlived its lease (the claiming node died)", async () => {
    const { DeliveriesRepo } = await import("../../src/webhooks/deliveries-repo.js");
    const ra = new DeliveriesRepo(a.node.db);
    const rb = new DeliveriesRepo(b.node.db);
    const h = await registerWithHook(api(a.url), "http://127.0.0.1:9/unused");
    const ev = { seq: 2_000_000, type: "server.updated" as const, domain: h.domain, origin: "local", at: new Date().toISOString(), data: {} };
    expect(await ra.enqueue([ev])).toEqual({ created: 1, dropped: 0 });
    const [dead] = await ra.claim("dead-node", 10, 300);
    expect(dead.seq).toBe(ev.seq);
    expect(await rb.claim("race-b", 10, 60_000)).toEqual([]);
    const taken = await vi.waitFor(async () => {
      const got = await rb.claim("race-b", 10, 60_000);
      expect(got.map((d) => d.seq)).toEqual([ev.seq]);
      return got[0];
    });
    // The dead node's late outcome is fenced off by the claim token; the new owner's is recorded.
    expect(await ra.complete(dead, "dead-node", { kind: "succeeded", statusCode: 200, durationMs: 1 })).toBe(false);
    expect(await rb.complete(taken, "race-b", { kind: "retry", statusCode: 500, error: "HTTP 500", durationMs: 1, delayMs: 60_000 })).toBe(true);
    const [[row]] = (await a.node.db.query("SELECT status, attempts, last_status_code FROM webhook_deliveries WHERE id = ?", [taken.id])) as any;
    expect(row).toMatchObject({ status: "pending", attempts: 1, last_status_code: 500 });
  });
});
