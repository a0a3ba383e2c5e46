// The ratings table: one rating per (server, rater identity), written with its rating.created event and the new
// summary (count, sum, stars, verified raters: contract §8.4); newest-first pages; the operator's removal.
import type { RowDataPacket } from "mysql2/promise";
import type { Initiator, RegistryEvent } from "../core/events.js";
import { NotFoundError } from "../core/errors.js";
import type { RatingSummary } from "../core/record.js";
import { audit } from "./audit-repo.js";
import { inTransaction, type Conn, type Db } from "./db.js";
import { appendEvents, lockEvents } from "./events-repo.js";

export type Rating = { user_id: string; rating: number; comment: string | null; created_at: string; verified: boolean };
export type RatingWrite = { created: boolean; rating: Rating; summary: RatingSummary; event: RegistryEvent };

/** Who rates (src/trust/rater.ts decides it): the identity shown as `user_id`, and how it was proved. */
export type RaterRow = { identity: string; homeDomain: string | null; verified: boolean; proof: "assertion" | "token" | "anonymous" };

async function summaryOf(conn: Conn, domain: string): Promise<RatingSummary> {
  const [rows] = await conn.query<RowDataPacket[]>(
    "SELECT rating, SUM(verified) AS v, COUNT(*) AS n FROM ratings WHERE domain = ? GROUP BY rating",
    [domain],
  );
  const distribution = [0, 0, 0, 0, 0];
  let count = 0;
  let sum = 0;
  let verified = 0;
  for (const r of rows) {
    const n = Number(r.n);
    distribution[Number(r.rating) - 1] = n;
    count += n;
    sum += n * Number(r.rating);
    verified += Number(r.v);
  }
  return { count, sum, distribution, verified_count: verified };
}

/** The summary as events carry it: the record's numbers plus the rounded average. */
function eventSummary(s: RatingSummary) {
  return { average: s.count === 0 ? null : Math.round((s.sum / s.count) * 100) / 100, ...s };
}

export class RatingsRepo {
  constructor(private readonly db: Db) {}

  async rate(domain: string, rater: RaterRow, input: { rating: number; comment?: string | null }, by: Initiator): Promise<RatingWrite> {
    return inTransaction(this.db, async (conn) => {
      await lockEvents(conn);
      const [srv] = await conn.query<RowDataPacket[]>("SELECT origin FROM servers WHERE domain = ? LOCK IN SHARE MODE", [domain]);
      if (srv.length === 0) throw new NotFoundError(`${domain} is not registered`);
      const now = new Date();
      const comment = input.comment ?? null;
      const [prior] = await conn.query<RowDataPacket[]>("SELECT id FROM ratings WHERE domain = ? AND user_id = ? FOR UPDATE", [domain, rater.identity]);
      if (prior.length > 0) {
        await conn.query("UPDATE ratings SET rating = ?, comment = ?, created_at = ?, home_domain = ?, verified = ?, proof = ? WHERE id = ?", [
          input.rating, comment, now, rater.homeDomain, rater.verified ? 1 : 0, rater.proof, prior[0].id,
        ]);
      } else {
        await conn.query("INSERT INTO ratings (domain, user_id, home_domain, rating, comment, created_at, verified, proof) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
          domain, rater.identity, rater.homeDomain, input.rating, comment, now, rater.verified ? 1 : 0, rater.proof,
        ]);
      }
      const summary = await summaryOf(conn, domain);
      await audit(conn, by, prior.length > 0 ? "rating.replace" : "rating.create", domain, { user_id: rater.identity, proof: rater.proof });
      const rating: Rating = { user_id: rater.identity, rating: input.rating, comment, created_at: now.toISOString(), verified: rater.verified };
      const [event] = await appendEvents(conn, [
        { type: "rating.created", domain, origin: srv[0].origin, atMs: now.getTime(), data: { rating, summary: eventSummary(summary) } },
      ]);
      return { created: prior.length === 0, rating, summary, event };
    });
  }

  /**
   * The operator removes one rating (contract §8.5). The new summary travels as a `rating.created` event without a
   * `rating` (the same shape peers' summary changes have), with `removed: {user_id}`; null when there was none.
   */
  async remove(domain: string, userId: string, by: Initiator, reason?: string): Promise<{ summary: RatingSummary; event: RegistryEvent } | null> {
    return inTransaction(this.db, async (conn) => {
      await lockEvents(conn);
      const [srv] = await conn.query<RowDataPacket[]>("SELECT origin FROM servers WHERE domain = ? LOCK IN SHARE MODE", [domain]);
      if (srv.length === 0) return null;
      const [res] = await conn.query<import("mysql2").ResultSetHeader>("DELETE FROM ratings WHERE domain = ? AND user_id = ?", [domain, userId]);
      if (res.affectedRows === 0) return null;
      const summary = await summaryOf(conn, domain);
      await audit(conn, by, "rating.remove", domain, { user_id: userId, ...(reason ? { reason } : {}) });
      const [event] = await appendEvents(conn, [
        { type: "rating.created", domain, origin: srv[0].origin, atMs: Date.now(), data: { removed: { user_id: userId }, summary: eventSummary(summary) } },
      ]);
      return { summary, event };
    });
  }

  async page(domain: string, limit: number, offset: number): Promise<Rating[]> {
    const [rows] = await this.db.query<RowDataPacket[]>(
      "SELECT user_id, rating, comment, created_at, verified FROM ratings WHERE domain = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
      [domain, limit, offset],
    );
    return rows.map((r) => ({
      user_id: r.user_id, rating: r.rating, comment: r.comment, created_at: (r.created_at as Date).toISOString(), verified: r.verified === 1,
    }));
  }

  /** The same page with each rating's id, for the legacy dialect's ratings list (contract §7). */
  async pageWithIds(domain: string, limit: number, offset: number): Promise<LegacyRatingRow[]> {
    const [rows] = await this.db.query<RowDataPacket[]>(
      "SELECT id, user_id, rating, comment, created_at FROM ratings WHERE domain = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
      [domain, limit, offset],
    );
    return rows.map((r) => ({ id: Number(r.id), user_id: r.user_id, rating: r.rating, comment: r.comment, createdAtMs: (r.created_at as Date).getTime() }));
  }
}

export type LegacyRatingRow = { id: number; user_id: string; rating: number; comment: string | null; createdAtMs: number };
