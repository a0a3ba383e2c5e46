// Webhook delivery state lives in MySQL (issue 4): a delivery pending when a registrar is killed is delivered once
// after it restarts, and an event committed by a node that died before enqueuing it is picked up at start-up.
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { afterAll, describe, expect, it, vi } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { spawnRegistrar, type ChildRegistrar } from "../support/registrar.js";

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe("webhook deliveries across a registrar restart", () => {
  const dbUrl = freshDatabaseUrl("whrestart");
  const env = {
    DATABASE_URL: dbUrl,
    ALLOW_PRIVATE_WEBHOOKS: "true",
    ALLOW_INSECURE_URLS: "true",
    // Retries within 2 s: long enough to kill the node between two attempts, short enough to wait for.
    WEBHOOK_RETRY_BASE_MS: "2000",
    WEBHOOK_RETRY_MAX_MS: "2000",
    WEBHOOK_POLL_MS: "100",
  };
  const children: ChildRegistrar[] = [];
  let receiver: http.Server | null = null;
  afterAll(async () => {
    for (const ch of children) await ch.kill("SIGKILL");
    await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
    await dropDatabase(dbUrl);
  });

  it("delivers a delivery that was pending at a kill -9 exactly once after the restart", async () => {
    const port = await freePort();
    const hookUrl = `http://127.0.0.1:${port}/hook`;
    const first = await spawnRegistrar(env);
    children.push(first);
    const c1 = api(first.url);
    const s = newServer();
    const reg = await c1.post("/v1/servers", s);
    expect(reg.status).toBe(201);
    const token = reg.body.token as string;
    const hook = await c1.post(`/v1/servers/${s.domain}/webhooks`, { url: hookUrl }, { token });
    expect(hook.status).toBe(201);
    const hookId = hook.body.webhook.id;
    expect((await c1.put(`/v1/servers/${s.domain}`, { name: "While the receiver is down" }, { token })).status).toBe(200);

    // The receiver is down: attempts fail with a refused connection and the delivery stays pending.
    await vi.waitFor(
      async () => {
        const d = (await c1.get(`/v1/servers/${s.domain}/webhooks/${hookId}/deliveries`, { token })).body.deliveries;
        expect(d).toHaveLength(1);
        expect(d[0].status).toBe("pending");
        expect(d[0].attempts).toBeGreaterThanOrEqual(1);
        expect(d[0].last_error).toMatch(/ECONNREFUSED/);
      },
      { timeout: 10_000 },
    );
    // Kill between two attempts, not during one: a claim held by a killed node would only come back after its
    // lease (WEBHOOK_TIMEOUT_MS + 15 s), which is the lease test's subject, not this one's.
    const sql = await connect(dbUrl);
    await vi.waitFor(
      async () => {
        const [[row]] = (await sql.query(
          `SELECT claimed_until, TIMESTAMPDIFF(MICROSECOND, UTC_TIMESTAMP(3), next_attempt_at) AS due_in_us
           FROM webhook_deliveries WHERE webhook_id = ?`,
          [hookId],
        )) as any;
        expect(row.claimed_until).toBeNull();
        expect(Number(row.due_in_us)).toBeGreaterThan(700_000);
      },
      { timeout: 20_000, interval: 20 },
    );
    await first.kill("SIGKILL");

    let orphanSeq: number;
    let updatedSeq: number;
    try {
      const [[updated]] = (await sql.query("SELECT seq FROM events WHERE domain = ? AND type = 'server.updated'", [s.domain])) as any;
      updatedSeq = Number(updated.seq);
      // An event committed by a node that died before its listener enqueued it: only the start-up catch-up sees it.
      const [res] = (await sql.query(
        "INSERT INTO events (type, domain, origin, at, data) VALUES ('server.updated', ?, 'local', UTC_TIMESTAMP(3), ?)",
        [s.domain, JSON.stringify({ orphan: true })],
      )) as any;
      orphanSeq = Number(res.insertId);
    } finally {
      await sql.end();
    }

    const received: { seq: number; delivery: string }[] = [];
    receiver = http.createServer((req, res) => {
      let body = "";
      req.on("data", (ch) => (body += ch));
      req.on("end", () => {
        received.push({ seq: JSON.parse(body).seq, delivery: String(req.headers["x-zent-delivery"]) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver!.listen(port, "127.0.0.1", r));

    const second = await spawnRegistrar(env);
    children.push(second);
    const c2 = api(second.url);
    await vi.waitFor(() => expect(received.map((r) => r.seq).sort()).toEqual([updatedSeq, orphanSeq].sort()), { timeout: 20_000 });

    // Barrier instead of a sleep: a fresh event arrives, and neither earlier one was delivered a second time.
    expect((await c2.put(`/v1/servers/${s.domain}`, { name: "After the restart" }, { token })).status).toBe(200);
    await vi.waitFor(() => expect(received).toHaveLength(3), { timeout: 10_000 });
    expect(received.filter((r) => r.seq === updatedSeq)).toHaveLength(1);
    expect(received.filter((r) => r.seq === orphanSeq)).toHaveLength(1);

    const d = (await c2.get(`/v1/servers/${s.domain}/webhooks/${hookId}/deliveries`, { token })).body.deliveries;
    const pendingAtKill = d.find((x: any) => x.seq === updatedSeq);
    expect(pendingAtKill.status).toBe("succeeded");
    expect(pendingAtKill.attempts).toBeGreaterThanOrEqual(2);
    expect(pendingAtKill.history.at(-1)).toMatchObject({ status_code: 204, error: null });
    await second.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  }, 60_000);
});
