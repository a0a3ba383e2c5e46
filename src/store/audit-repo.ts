// The audit log: who (domain or client IP) did which state-changing action to what, and when.
import type { Actor } from "../../actors/ports.js";
import type { Conn } from "./db.js";

export async function audit(conn: Conn, by: Actor, action: string, domain: string | null, detail?: Record<string, unknown>): Promise<void> {
  await conn.query("INSERT INTO audit_log (at, actor, action, domain, detail) VALUES (UTC_TIMESTAMP(3), ?, ?, ?, ?)", [
    `${by.kind}:${by.id}`.slice(0, 253),
    action,
    domain,
    detail ? JSON.stringify(detail) : null,
  ]);
}
