// The server_uptime_days table (migration 008, contract §9.2): per server and UTC day, the milliseconds observed and
// online. Written inside the transaction that persists a status transition; read by the uptime route and at start.
import type { RowDataPacket } from "mysql2/promise";
import { splitByDay, utcDay, windowStartMs } from "../core/uptime-days.js";
import { DAY_MS } from "../core/units.js";
import type { Conn, Db } from "./db.js";

/** A closed stretch of one status: [fromMs, toMs). */
export type StatusSpan = { domain: string; fromMs: number; toMs: number; online: boolean };

/** Adds closed spans to the daily rows (one upsert statement), spans cut at UTC midnights; nothing before `floorMs`. */
export async function accrueUptime(conn: Conn, spans: StatusSpan[], floorMs: number): Promise<void> {
  const rows: [string, string, number, number][] = [];
  for (const s of spans) {
    for (const { day, ms } of splitByDay(Math.max(s.fromMs, floorMs), s.toMs)) rows.push([s.domain, day, ms, s.online ? ms : 0]);
  }
  if (rows.length === 0) return;
  await conn.query(
    `INSERT INTO server_uptime_days (domain, day, observed_ms, online_ms) VALUES ?
     ON DUPLICATE KEY UPDATE observed_ms = LEAST(observed_ms + VALUES(observed_ms), ${DAY_MS}),
       online_ms = LEAST(online_ms + VALUES(online_ms), ${DAY_MS})`,
    [rows],
  );
}

export type UptimeDay = { date: string; online_ratio: number | null };
export type Uptime = { days: UptimeDay[]; ratio: number | null };

const ratio = (online: number, observed: number) => (observed > 0 ? Math.round((online / observed) * 10_000) / 10_000 : null);

export class UptimeRepo {
  constructor(private readonly db: Db) {}

  /**
   * The last `days` UTC days of one server, oldest first, with the stretch still open (since status_since) added up
   * to now; null for a day nothing was observed (not yet listed). Null when the server is not in the table.
   */
  async read(domain: string, days: number, nowMs: number): Promise<Uptime | null> {
    const fromMs = windowStartMs(nowMs, days);
    const [servers] = await this.db.query<RowDataPacket[]>("SELECT status, status_since FROM servers WHERE domain = ?", [domain]);
    if (servers.length === 0) return null;
    const [rows] = await this.db.query<RowDataPacket[]>(
      "SELECT DATE_FORMAT(day, '%Y-%m-%d') AS day, observed_ms, online_ms FROM server_uptime_days WHERE domain = ? AND day >= ?",
      [domain, utcDay(fromMs)],
    );
    const perDay = new Map<string, { observed: number; online: number }>();
    for (const r of rows) perDay.set(r.day, { observed: Number(r.observed_ms), online: Number(r.online_ms) });
    const since = (servers[0].status_since as Date).getTime();
    const online = servers[0].status === "online";
    for (const { day, ms } of splitByDay(Math.max(since, fromMs), nowMs)) {
      const d = perDay.get(day) ?? { observed: 0, online: 0 };
      d.observed += ms;
      if (online) d.online += ms;
      perDay.set(day, d);
    }
    const out: UptimeDay[] = [];
    let observed = 0;
    let up = 0;
    for (let t = fromMs; t <= nowMs; t += DAY_MS) {
      const d = perDay.get(utcDay(t));
      out.push({ date: utcDay(t), online_ratio: d ? ratio(d.online, d.observed) : null });
      if (d) {
        observed += d.observed;
        up += d.online;
      }
    }
    return { days: out, ratio: ratio(up, observed) };
  }

  /** Closed sums per server since `fromMs` (its day), for the in-memory uptime_30d (src/uptime/tracker.ts). */
  async sumsSince(fromMs: number): Promise<Map<string, { observed: number; online: number }>> {
    const [rows] = await this.db.query<RowDataPacket[]>(
      "SELECT domain, SUM(observed_ms) AS observed, SUM(online_ms) AS online FROM server_uptime_days WHERE day >= ? GROUP BY domain",
      [utcDay(fromMs)],
    );
    return new Map(rows.map((r) => [r.domain as string, { observed: Number(r.observed), online: Number(r.online) }]));
  }

  /** Drops days older than the retention (UPTIME_RETENTION_DAYS); returns the rows removed. */
  async prune(retentionDays: number, nowMs: number): Promise<number> {
    const [res] = await this.db.query("DELETE FROM server_uptime_days WHERE day < ? LIMIT 10000", [utcDay(windowStartMs(nowMs, retentionDays))]);
    return (res as { affectedRows: number }).affectedRows;
  }
}
