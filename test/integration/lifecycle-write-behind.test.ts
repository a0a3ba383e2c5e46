// Write-behind bound: heartbeats are soft state written in batches, at most one row write per server per flush
// interval however many heartbeats arrive. Row writes are counted by MySQL itself (an AFTER UPDATE trigger in this
// test's own database), and the registrar_write_behind_flush_rows metric is checked against that count.
import type { Connection, RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

const FLUSH_MS = 3_000;
const SERVERS = 20;
const ROUNDS = 10;

function metric(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : 0;
}

describe("write-behind of heartbeats", () => {
  const dbUrl = freshDatabaseUrl("lcwb");
  let reg: InProcessRegistrar;
  let db: Connection;
  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, FLUSH_INTERVAL_MS: String(FLUSH_MS), RATE_LIMIT_REGISTER: "off" });
    db = await connect(dbUrl);
    await db.query("CREATE TABLE test_row_writes (n INT NOT NULL) ENGINE=InnoDB");
    await db.query("INSERT INTO test_row_writes VALUES (0)");
    await db.query("CREATE TRIGGER test_count_server_updates AFTER UPDATE ON servers FOR EACH ROW UPDATE test_row_writes SET n = n + 1");
  });
  afterAll(async () => {
    await db?.end();
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  const rowWrites = async () => {
    const [[r]] = await db.query<RowDataPacket[]>("SELECT n FROM test_row_writes");
    return Number(r.n);
  };

  it(`writes ${ROUNDS * SERVERS} heartbeats for ${SERVERS} servers within one flush interval as at most ${SERVERS} row writes`, async () => {
    const c = api(reg.url);
    const servers: { domain: string; token: string }[] = [];
    for (let i = 0; i < SERVERS; i++) {
      const body = newServer();
      const r = await c.post("/v1/servers", body);
      expect(r.status).toBe(201);
      servers.push({ domain: body.domain, token: r.body.token });
    }
    expect(await rowWrites()).toBe(0);

    // Find the flush phase: one heartbeat, then watch for its row write. The next flush is FLUSH_MS later.
    expect((await c.post(`/v1/servers/${servers[0].domain}/heartbeat`, {}, { token: servers[0].token })).status).toBe(200);
    await vi.waitFor(async () => expect(await rowWrites()).toBe(1), { timeout: FLUSH_MS + 2_000, interval: 10 });
    const flushedAt = Date.now();

    const last: Record<string, string> = {};
    for (let round = 1; round <= ROUNDS; round++) {
      const replies = await Promise.all(
        servers.map((s) => c.post(`/v1/servers/${s.domain}/heartbeat`, { user_count: round, channel_count: round * 2 }, { token: s.token })),
      );
      replies.forEach((r, i) => {
        expect(r.status).toBe(200);
        last[servers[i].domain] = r.body.last_seen;
      });
    }
    expect(Date.now() - flushedAt, "all heartbeats must land inside one flush interval for this test to mean anything").toBeLessThan(FLUSH_MS - 500);

    await vi.waitFor(
      async () => {
        const [rows] = await db.query<RowDataPacket[]>("SELECT domain, user_count, channel_count, last_seen FROM servers");
        expect(rows).toHaveLength(SERVERS);
        for (const r of rows) expect([r.user_count, r.channel_count, (r.last_seen as Date).toISOString()]).toEqual([ROUNDS, ROUNDS * 2, last[r.domain]]);
      },
      { timeout: FLUSH_MS + 2_000, interval: 50 },
    );
    expect((await rowWrites()) - 1).toBeLessThanOrEqual(SERVERS);
    expect((await rowWrites()) - 1).toBe(SERVERS); // every server was dirty, so exactly one write each

    // The metric tells operators the same thing MySQL counted. It is observed once the flush's commit has returned to
    // the registrar, which can be a moment after the rows are visible here.
    const writes = await rowWrites();
    await vi.waitFor(
      async () => {
        const text = (await c.get("/metrics")).text;
        expect(metric(text, "registrar_write_behind_flush_rows_sum")).toBe(writes);
        expect(metric(text, "registrar_write_behind_flush_rows_count")).toBe(2);
      },
      { timeout: 2_000, interval: 20 },
    );
  });
});
