// The audit log: who (domain or client IP) did which state-changing action to what, and when.
import type { ResultSetHeader } from "mysql2/promise";
import type { Actor } from "../../actors/ports.js";
import { markCommit, type Conn } from "./db.js";

/** Writes one audit row in the caller's transaction; its id lets inTransaction resolve a lost COMMIT answer. */
export async function audit(conn: Conn, by: Actor, action: string, domain: string | null, detail?: Record<string, unknown>): Promise<void> {
  const [res] = await conn.query<ResultSetHeader>("INSERT INTO audit_log (at, actor, action, domain, detail) VALUES (UTC_TIMESTAMP(3), ?, ?, ?, ?)", [
    `${by.kind}:${by.id}`.slice(0, 253),
    action,
    domain,
    detail ? JSON.stringify(detail) : null,
  ]);
  markCommit(conn, res.insertId);
}
