// The trust_challenges table (contract §8.1, §8.2): one pending challenge per (domain, purpose), with its expiry.
import type { ResultSetHeader, RowDataPacket } from "mysql2/promise";
import type { Conn, Db } from "../store/db.js";
import { generateChallenge } from "./challenge.js";

export type ChallengePurpose = "verify" | "recover";
export type PendingChallenge = { challenge: string; createdAtMs: number; expiresAtMs: number };

export class ChallengesRepo {
  constructor(private readonly db: Db) {}

  /**
   * The unexpired pending challenge, or a new one when there is none (or it expired). Asking again answers the same
   * challenge, so a stranger's recovery request cannot replace the one the owner is publishing. Race-safe: the upsert
   * keeps a live row and replaces only an expired one, and both callers then read the row that stands.
   */
  async pending(domain: string, purpose: ChallengePurpose, ttlMs: number, nowMs: number): Promise<PendingChallenge> {
    const now = new Date(nowMs);
    await this.db.query(
      `INSERT INTO trust_challenges (domain, purpose, challenge, created_at, expires_at) VALUES (?, ?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE
         challenge = IF(expires_at <= ?, VALUES(challenge), challenge),
         created_at = IF(expires_at <= ?, VALUES(created_at), created_at),
         expires_at = IF(expires_at <= ?, VALUES(expires_at), expires_at)`,
      [domain, purpose, generateChallenge(), now, new Date(nowMs + ttlMs), now, now, now],
    );
    const found = await this.get(domain, purpose, nowMs);
    if (!found) throw new Error(`pending ${purpose} challenge of ${domain} vanished`);
    return found;
  }

  /** The unexpired pending challenge, or null. */
  async get(domain: string, purpose: ChallengePurpose, nowMs: number, conn: Conn | Db = this.db): Promise<PendingChallenge | null> {
    const [rows] = await conn.query<RowDataPacket[]>(
      "SELECT challenge, created_at, expires_at FROM trust_challenges WHERE domain = ? AND purpose = ? AND expires_at > ?",
      [domain, purpose, new Date(nowMs)],
    );
    if (rows.length === 0) return null;
    return { challenge: rows[0].challenge, createdAtMs: (rows[0].created_at as Date).getTime(), expiresAtMs: (rows[0].expires_at as Date).getTime() };
  }

  /** Removes the domain's pending challenges (one purpose or all), in the caller's transaction when given. */
  async remove(domain: string, purpose: ChallengePurpose | null, conn: Conn | Db = this.db): Promise<void> {
    if (purpose) await conn.query("DELETE FROM trust_challenges WHERE domain = ? AND purpose = ?", [domain, purpose]);
    else await conn.query("DELETE FROM trust_challenges WHERE domain = ?", [domain]);
  }

  async prune(nowMs: number, chunk = 5000): Promise<number> {
    let total = 0;
    for (;;) {
      const [res] = await this.db.query<ResultSetHeader>("DELETE FROM trust_challenges WHERE expires_at < ? LIMIT ?", [new Date(nowMs), chunk]);
      total += res.affectedRows;
      if (res.affectedRows < chunk) return total;
    }
  }
}
