// The bans table (contract §8.5): domains the operator banned from registering and recovering, with audit rows.
import type { ResultSetHeader, RowDataPacket } from "mysql2/promise";
import type { Initiator } from "../core/events.js";
import { audit } from "../store/audit-repo.js";
import { inTransaction, type Conn, type Db } from "../store/db.js";

export type Ban = { domain: string; reason: string; created_at: string };

export class BansRepo {
  constructor(private readonly db: Db) {}

  async isBanned(domain: string, conn: Conn | Db = this.db): Promise<boolean> {
    const [rows] = await conn.query<RowDataPacket[]>("SELECT 1 FROM bans WHERE domain = ?", [domain]);
    return rows.length > 0;
  }

  /** Bans (or re-bans with a new reason, keeping the first time) and writes the audit row; returns the ban. */
  async put(domain: string, reason: string, by: Initiator, nowMs: number): Promise<Ban> {
    return inTransaction(this.db, async (conn) => {
      await conn.query("INSERT INTO bans (domain, reason, created_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE reason = VALUES(reason)", [
        domain, reason, new Date(nowMs),
      ]);
      await audit(conn, by, "admin.ban", domain, { reason });
      const [[row]] = await conn.query<RowDataPacket[]>("SELECT domain, reason, created_at FROM bans WHERE domain = ?", [domain]);
      return { domain: row.domain, reason: row.reason, created_at: (row.created_at as Date).toISOString() };
    });
  }

  /** Lifts a ban (with its audit row); false when the domain was not banned. */
  async remove(domain: string, by: Initiator): Promise<boolean> {
    return inTransaction(this.db, async (conn) => {
      const [res] = await conn.query<ResultSetHeader>("DELETE FROM bans WHERE domain = ?", [domain]);
      if (res.affectedRows === 0) return false;
      await audit(conn, by, "admin.unban", domain);
      return true;
    });
  }

  /** Newest first, bounded: an operator's list, not a bulk export. */
  async list(limit = 1000): Promise<Ban[]> {
    const [rows] = await this.db.query<RowDataPacket[]>("SELECT domain, reason, created_at FROM bans ORDER BY created_at DESC, domain LIMIT ?", [limit]);
    return rows.map((r) => ({ domain: r.domain, reason: r.reason, created_at: (r.created_at as Date).toISOString() }));
  }
}
