// Reads the audit log for the operator (contract §8.5 `GET /v1/admin/audit`): newest first, by domain, paged by id.
import type { RowDataPacket } from "mysql2/promise";
import type { Db } from "../store/db.js";

export type AuditEntry = { id: number; at: string; actor: string; action: string; domain: string | null; detail: unknown };

export const AUDIT_PAGE_MAX = 500;

export class AuditReader {
  constructor(private readonly db: Db) {}

  /** `before`: an entry id (the last one of the previous page) or a time; only older entries are returned. */
  async entries(q: { domain?: string; limit: number; before?: number | Date }): Promise<AuditEntry[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.domain !== undefined) {
      where.push("domain = ?");
      args.push(q.domain);
    }
    if (typeof q.before === "number") {
      where.push("id < ?");
      args.push(q.before);
    } else if (q.before instanceof Date) {
      where.push("at < ?");
      args.push(q.before);
    }
    args.push(Math.min(Math.max(1, q.limit), AUDIT_PAGE_MAX));
    const [rows] = await this.db.query<RowDataPacket[]>(
      `SELECT id, at, actor, action, domain, detail FROM audit_log ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`,
      args,
    );
    return rows.map((r) => ({
      id: Number(r.id),
      at: (r.at as Date).toISOString(),
      actor: r.actor,
      action: r.action,
      domain: r.domain,
      detail: r.detail === null ? null : parseDetail(r.detail),
    }));
  }
}

function parseDetail(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
