// The bans table (contract §8.5): domains the operator banned from registering and recovering.
import type { ResultSetHeader, RowDataPacket } from "mysql2/promise";
import type { Conn, Db } from "../store/db.js";

export type Ban = { domain: string; reason: string; created_at: string };

export class BansRepo {
  constructor(private readonly db: Db) {}

  async isBanned(domain: string, conn: Conn | Db = this.db): Promise<boolean> {
    const [rows] = await conn.query<RowDataPacket[]>("SELECT 1 FROM bans WHERE domain = ?", [domain]);
    return rows.length > 0;
  }

  /** Bans (or re-bans with a new reason, keeping the first time); true when the domain was not banned before. */
  async put(domain: string, reason: string, nowMs: number, conn: Conn | Db = this.db): Promise<boolean> {
    const [res] = await conn.query<ResultSetHeader>(
      "INSERT INTO bans (domain, reason, created_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE reason = VALUES(reason)",
      [domain, reason, new Date(nowMs)],
    );
    // MySQL: 1 = inserted, 2 = updated, 0 = unchanged.
    return res.affectedRows === 1;
  }

  /** True when a ban was lifted. */
  async remove(domain: string, conn: Conn | Db = this.db): Promise<boolean> {
    const [res] = await conn.query<ResultSetHeader>("DELETE FROM bans WHERE domain = ?", [domain]);
    return res.affectedRows > 0;
  }

  /** Newest first, bounded: an operator's list, not a bulk export. */
  async list(limit = 1000): Promise<Ban[]> {
    const [rows] = await this.db.query<RowDataPacket[]>("SELECT domain, reason, created_at FROM bans ORDER BY created_at DESC, domain LIMIT ?", [limit]);
    return rows.map((r) => ({ domain: r.domain, reason: r.reason, created_at: (r.created_at as Date).toISOString() }));
  }
}
