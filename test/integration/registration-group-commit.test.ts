// Registrations committed in groups (src/store/registration-commits.ts) over real HTTP and MariaDB: many in flight
// at once, each 201 durable before it is sent, seq order equal to commit order as a concurrent reader sees it, and
// the single path's refusals (taken, banned, bad row) for members of a group without harming the others.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RowDataPacket } from "mysql2/promise";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

describe("registrations in groups", () => {
  const dbUrl = freshDatabaseUrl("groupcommit");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  let db: Awaited<ReturnType<typeof connect>>;

  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, RATE_LIMIT_REGISTER: "off" });
    c = api(reg.url);
    db = await connect(dbUrl);
  });
  afterAll(async () => {
    await db?.end();
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("every 201 is in MySQL when it is answered, and a concurrent reader never sees a seq appear below one it already saw", async () => {
    const reader = await connect(dbUrl);
    let seen = 0;
    let reads = 0;
    const lateBelow: number[] = [];
    let stop = false;
    // Reads new events in a loop: with seq order = commit order, each read only ever adds seqs above the last max.
    const reading = (async () => {
      const known = new Set<number>();
      while (!stop) {
        const [rows] = await reader.query<RowDataPacket[]>("SELECT seq FROM events ORDER BY seq");
        reads++;
        for (const r of rows) {
          const seq = Number(r.seq);
          if (known.has(seq)) continue;
          known.add(seq);
          if (seq < seen) lateBelow.push(seq);
        }
        for (const s of known) seen = Math.max(seen, s);
      }
    })();
    const servers = Array.from({ length: 300 }, () => newServer());
    const durableAtAnswer: boolean[] = [];
    try {
      await Promise.all(
        servers.map(async (s) => {
          const r = await c.post("/v1/servers", s);
          expect(r.status, JSON.stringify(r.body)).toBe(201);
          // Acknowledged means durable: the row, its audit row and its event are committed before the 201.
          const [[row]] = await db.query<RowDataPacket[]>(
            `SELECT (SELECT COUNT(*) FROM servers WHERE domain = ?) AS s, (SELECT COUNT(*) FROM events WHERE domain = ? AND type = 'server.registered') AS e,
                    (SELECT COUNT(*) FROM audit_log WHERE domain = ? AND action = 'server.register') AS a`,
            [s.domain, s.domain, s.domain],
          );
          durableAtAnswer.push(Number(row.s) === 1 && Number(row.e) === 1 && Number(row.a) === 1);
        }),
      );
    } finally {
      stop = true;
      await reading;
      await reader.end();
    }
    expect(durableAtAnswer).toHaveLength(servers.length);
    expect(durableAtAnswer.every(Boolean)).toBe(true);
    expect(reads).toBeGreaterThan(1);
    expect(lateBelow).toEqual([]);
    // The seqs of the 300 registrations are distinct and consecutive with no hole (one writer, no rollback).
    const [evs] = await db.query<RowDataPacket[]>("SELECT seq FROM events WHERE type = 'server.registered' ORDER BY seq");
    const seqs = evs.map((r) => Number(r.seq));
    expect(seqs.length).toBe(servers.length);
    expect(seqs[seqs.length - 1] - seqs[0]).toBe(servers.length - 1);
    // Groups really formed: the audit rows of one group are written by one statement and share its timestamp.
    const [[times]] = await db.query<RowDataPacket[]>("SELECT COUNT(DISTINCT at) AS n FROM audit_log WHERE action = 'server.register'");
    expect(Number(times.n)).toBeLessThan(servers.length / 2);
    for (const s of servers.slice(0, 20)) expect((await c.get(`/v1/servers/${s.domain}`)).status).toBe(200);
  });

  it("refuses a banned domain and a domain taken behind the registrar's back inside a burst, and registers all the others", async () => {
    const banned = newServer();
    await db.query("INSERT INTO bans (domain, reason, created_at) VALUES (?, 'test', NOW(3))", [banned.domain]);
    // Written straight to MySQL (as another process would): the directory does not know it, so the registration
    // reaches the group's INSERT, which fails on the key and falls back to one transaction per registration.
    const taken = newServer();
    const template = newServer();
    expect((await c.post("/v1/servers", template)).status).toBe(201);
    await db.query("CREATE TEMPORARY TABLE copy AS SELECT * FROM servers WHERE domain = ?", [template.domain]);
    await db.query("UPDATE copy SET domain = ?, name = ?", [taken.domain, taken.name]);
    await db.query("INSERT INTO servers SELECT * FROM copy");
    const before = await counts();
    const good = Array.from({ length: 60 }, () => newServer());
    const burst = [...good.slice(0, 30), banned, { ...taken, name: "second try" }, ...good.slice(30)];
    const answers = await Promise.all(burst.map((s) => c.post("/v1/servers", s)));
    const statusOf = (domain: string) => answers[burst.findIndex((s) => s.domain === domain && s !== taken)].status;
    expect(statusOf(banned.domain)).toBe(403);
    expect(answers[31].status).toBe(409);
    for (let i = 0; i < burst.length; i++) if (i !== 30 && i !== 31) expect(answers[i].status, burst[i].domain).toBe(201);
    const after = await counts();
    // Exactly the good ones were written: one row, one event, one audit row each; nothing for the refused two.
    expect(after).toEqual({ servers: before.servers + good.length, events: before.events + good.length, audit: before.audit + good.length });
    const [[b]] = await db.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM servers WHERE domain = ?", [banned.domain]);
    expect(Number(b.n)).toBe(0);
    const [[t]] = await db.query<RowDataPacket[]>("SELECT name FROM servers WHERE domain = ?", [taken.domain]);
    expect(t.name).toBe(taken.name);
  });

  async function counts() {
    const [[row]] = await db.query<RowDataPacket[]>(
      `SELECT (SELECT COUNT(*) FROM servers) AS servers, (SELECT COUNT(*) FROM events WHERE type = 'server.registered') AS events,
              (SELECT COUNT(*) FROM audit_log WHERE action = 'server.register') AS audit`,
    );
    return { servers: Number(row.servers), events: Number(row.events), audit: Number(row.audit) };
  }
});
