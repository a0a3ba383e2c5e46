// The audit log: who (domain or client IP) did which state-changing action to what, and when.
import type { ResultSetHeader } from "mysql2/promise";
import type { Initiator } from "../core/events.js";
import { markCommit, type Conn, type Db } from "./db.js";

/** Writes one audit row in the caller's transaction; its id lets inTransaction resolve a lost COMMIT answer. */
export async function audit(conn: Conn, by: Initiator, action: string, domain: string | null, detail?: Record<string, unknown>): Promise<void> {
  const [res] = await conn.query<ResultSetHeader>("INSERT INTO audit_log (at, actor, action, domain, detail) VALUES (UTC_TIMESTAMP(3), ?, ?, ?, ?)", [
    `${by.kind}:${by.id}`.slice(0, 253),
    action,
    domain,
    detail ? JSON.stringify(detail) : null,
  ]);
  markCommit(conn, res.insertId);
}

/** Deletes audit rows older than the retention window, in small chunks so no long lock is held; returns the count. */
export async function pruneAudit(db: Db, olderThanMs: number, chunk = 5000): Promise<number> {
  let total = 0;
  for (;;) {
    const [res] = await db.query<ResultSetHeader>("DELETE FROM audit_log WHERE at < ? ORDER BY id LIMIT ?", [new Date(olderThanMs), chunk]);
    total += res.affectedRows;
    if (res.affectedRows < chunk) return total;
  }
}
