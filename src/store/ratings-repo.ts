// The ratings table: one rating per (server, user), written with its rating.created event; newest-first pages.
import type { RowDataPacket } from "mysql2/promise";
import type { Initiator, RegistryEvent } from "../core/events.js";
import { NotFoundError } from "../core/errors.js";
import { audit } from "./audit-repo.js";
import { inTransaction, type Db } from "./db.js";
import { appendEvents, lockEvents } from "./events-repo.js";

export type Rating = { user_id: string; rating: number; comment: string | null; created_at: string };
export type RatingWrite = { created: boolean; rating: Rating; count: number; sum: number; event: RegistryEvent };

export class RatingsRepo {
  constructor(private readonly db: Db) {}

  async rate(domain: string, input: { user_id: string; rating: number; comment?: string }, by: Initiator): Promise<RatingWrite> {
    return inTransaction(this.db, async (conn) => {
      await lockEvents(conn);
      const [srv] = await conn.query<RowDataPacket[]>("SELECT origin FROM servers WHERE domain = ? LOCK IN SHARE MODE", [domain]);
      if (srv.length === 0) throw new NotFoundError(`${domain} is not registered`);
      const now = new Date();
      const [prior] = await conn.query<RowDataPacket[]>("SELECT id FROM ratings WHERE domain = ? AND user_id = ? FOR UPDATE", [domain, input.user_id]);
      if (prior.length > 0) {
        await conn.query("UPDATE ratings SET rating = ?, comment = ?, created_at = ? WHERE id = ?", [input.rating, input.comment ?? null, now, prior[0].id]);
      } else {
        await conn.query("INSERT INTO ratings (domain, user_id, rating, comment, created_at) VALUES (?, ?, ?, ?, ?)", [
          domain, input.user_id, input.rating, input.comment ?? null, now,
        ]);
      }
      const [[sum]] = await conn.query<RowDataPacket[]>("SELECT COUNT(*) AS n, COALESCE(SUM(rating), 0) AS total FROM ratings WHERE domain = ?", [domain]);
      const count = Number(sum.n);
      const total = Number(sum.total);
      await audit(conn, by, prior.length > 0 ? "rating.replace" : "rating.create", domain, { user_id: input.user_id });
      const rating: Rating = { user_id: input.user_id, rating: input.rating, comment: input.comment ?? null, created_at: now.toISOString() };
      const average = Math.round((total / count) * 100) / 100;
      const [event] = await appendEvents(conn, [
        { type: "rating.created", domain, origin: srv[0].origin, atMs: now.getTime(), data: { rating, summary: { average, count, sum: total } } },
      ]);
      return { created: prior.length === 0, rating, count, sum: total, event };
    });
  }

  async page(domain: string, limit: number, offset: number): Promise<Rating[]> {
    const [rows] = await this.db.query<RowDataPacket[]>(
      "SELECT user_id, rating, comment, created_at FROM ratings WHERE domain = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
      [domain, limit, offset],
    );
    return rows.map((r) => ({ user_id: r.user_id, rating: r.rating, comment: r.comment, created_at: (r.created_at as Date).toISOString() }));
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
