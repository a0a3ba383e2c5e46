// The trust_checks table (contract §8.1 re-checks, §8.6 mirrored records): when each watched proof is due, and its
// run of failures.
import type { RowDataPacket } from "mysql2/promise";
import type { Conn, Db } from "../store/db.js";

export type DueCheck = { domain: string; origin: string; nextCheckAtMs: number; firstFailureAtMs: number | null; failures: number };

export type CheckResult = {
  nowMs: number;
  ok: boolean;
  reason: string | null;
  firstFailureAtMs: number | null;
  nextCheckAtMs: number;
};

export class ChecksRepo {
  constructor(private readonly db: Db) {}

  /** Starts (or restarts after a fresh proof) watching a record's proof: no failures, next check at `nextCheckAtMs`. */
  async watch(domain: string, origin: string, nowMs: number, nextCheckAtMs: number, conn: Conn | Db = this.db): Promise<void> {
    await conn.query(
      `INSERT INTO trust_checks (domain, origin, next_check_at, last_attempt_at, last_success_at, first_failure_at, failures, last_reason)
       VALUES (?, ?, ?, ?, ?, NULL, 0, NULL)
       ON DUPLICATE KEY UPDATE next_check_at = VALUES(next_check_at), last_attempt_at = VALUES(last_attempt_at),
         last_success_at = VALUES(last_success_at), first_failure_at = NULL, failures = 0, last_reason = NULL`,
      [domain, origin, new Date(nextCheckAtMs), new Date(nowMs), new Date(nowMs)],
    );
  }

  async unwatch(domain: string, origin: string | null, conn: Conn | Db = this.db): Promise<void> {
    if (origin === null) await conn.query("DELETE FROM trust_checks WHERE domain = ?", [domain]);
    else await conn.query("DELETE FROM trust_checks WHERE domain = ? AND origin = ?", [domain, origin]);
  }

  /** Checks due by `nowMs`, oldest first (the caller keeps those it owns: in a cluster, the shard owner checks). */
  async due(nowMs: number, limit: number): Promise<DueCheck[]> {
    const [rows] = await this.db.query<RowDataPacket[]>(
      "SELECT domain, origin, next_check_at, first_failure_at, failures FROM trust_checks WHERE next_check_at <= ? ORDER BY next_check_at LIMIT ?",
      [new Date(nowMs), limit],
    );
    return rows.map((r) => ({
      domain: r.domain,
      origin: r.origin,
      nextCheckAtMs: (r.next_check_at as Date).getTime(),
      firstFailureAtMs: r.first_failure_at ? (r.first_failure_at as Date).getTime() : null,
      failures: Number(r.failures),
    }));
  }

  async get(domain: string, origin: string): Promise<DueCheck | null> {
    const [rows] = await this.db.query<RowDataPacket[]>(
      "SELECT domain, origin, next_check_at, first_failure_at, failures FROM trust_checks WHERE domain = ? AND origin = ?",
      [domain, origin],
    );
    if (rows.length === 0) return null;
    const r = rows[0];
    return {
      domain: r.domain,
      origin: r.origin,
      nextCheckAtMs: (r.next_check_at as Date).getTime(),
      firstFailureAtMs: r.first_failure_at ? (r.first_failure_at as Date).getTime() : null,
      failures: Number(r.failures),
    };
  }

  /** Records one attempt's outcome and the next due time. */
  async record(domain: string, origin: string, r: CheckResult, conn: Conn | Db = this.db): Promise<void> {
    await conn.query(
      `UPDATE trust_checks SET next_check_at = ?, last_attempt_at = ?, last_success_at = IF(?, ?, last_success_at),
         first_failure_at = ?, failures = IF(?, 0, failures + 1), last_reason = ?
       WHERE domain = ? AND origin = ?`,
      [new Date(r.nextCheckAtMs), new Date(r.nowMs), r.ok, new Date(r.nowMs), r.firstFailureAtMs === null ? null : new Date(r.firstFailureAtMs), r.ok, r.reason, domain, origin],
    );
  }
}
