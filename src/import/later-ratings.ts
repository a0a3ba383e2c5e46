// Ratings made at the PHP registrar after their server was imported by an earlier run (the PHP registrar keeps
// serving until the switch-over): copied once each, by PHP id, unless the same user has a newer rating here.
import type { ResultSetHeader, RowDataPacket } from "mysql2/promise";
import type { RegistryEvent } from "../core/events.js";
import { inTransaction, markCommit, type Conn, type Db } from "../store/db.js";
import { appendEvents, lockEvents, type NewEvent } from "../store/events-repo.js";
import { AUDIT_ACTOR } from "./import-store.js";
import type { ConvertedRatings, ImportedRating } from "./php-ratings.js";

export type LaterRatings = { copied: number; olderThanHere: number; events: RegistryEvent[] };

/** `domains` were imported by an earlier run; `ratings` are their PHP ratings as converted in this run. */
export async function copyLaterRatings(db: Db, domains: string[], ratings: ConvertedRatings, dryRun: boolean, nowMs: number): Promise<LaterRatings> {
  const wanted = new Set(domains);
  const newest = [...ratings.byDomain.values()].flat().filter((r) => wanted.has(r.domain));
  const older = ratings.superseded.filter((r) => wanted.has(r.domain));
  if (newest.length + older.length === 0) return { copied: 0, olderThanHere: 0, events: [] };
  // Planned first without the event lock: on a run that finds nothing new (the usual second run), no lock is taken.
  const draft = await plan(db, newest, older);
  if (dryRun || (draft.copy.length === 0 && draft.handled.length === 0)) return { copied: draft.copy.length, olderThanHere: draft.olderThanHere, events: [] };
  return inTransaction(db, async (conn) => {
    await lockEvents(conn);
    const p = await plan(conn, newest, older);
    if (p.handled.length > 0) {
      await conn.query("INSERT INTO php_import_ratings (source_id, domain, imported_at) VALUES ?", [p.handled.map((r) => [r.sourceId, r.domain, new Date(nowMs)])]);
    }
    if (p.copy.length === 0) return { copied: 0, olderThanHere: p.olderThanHere, events: [] };
    await conn.query(
      `INSERT INTO ratings (domain, user_id, rating, comment, created_at) VALUES ?
       ON DUPLICATE KEY UPDATE rating = VALUES(rating), comment = VALUES(comment), created_at = VALUES(created_at)`,
      [p.copy.map((r) => [r.domain, r.userId, r.rating, r.comment, new Date(r.createdAtMs)])],
    );
    const touched = [...new Set(p.copy.map((r) => r.domain))];
    const [audit] = await conn.query<ResultSetHeader>("INSERT INTO audit_log (at, actor, action, domain, detail) VALUES ?", [
      touched.map((d) => [new Date(nowMs), AUDIT_ACTOR, "rating.import", d, JSON.stringify({ ratings: p.copy.filter((r) => r.domain === d).length })]),
    ]);
    markCommit(conn, audit.insertId);
    const events = await appendEvents(conn, await ratingEvents(conn, p.copy, touched, nowMs));
    return { copied: p.copy.length, olderThanHere: p.olderThanHere, events };
  });
}

type Plan = { copy: ImportedRating[]; handled: ImportedRating[]; olderThanHere: number };

async function plan(q: Pick<Db, "query"> | Conn, newest: ImportedRating[], older: ImportedRating[]): Promise<Plan> {
  const [done] = await q.query<RowDataPacket[]>("SELECT source_id FROM php_import_ratings WHERE source_id IN (?)", [
    [...newest, ...older].map((r) => r.sourceId),
  ]);
  const doneIds = new Set(done.map((r) => Number(r.source_id)));
  const fresh = newest.filter((r) => !doneIds.has(r.sourceId));
  const handled = older.filter((r) => !doneIds.has(r.sourceId));
  if (fresh.length === 0) return { copy: [], handled, olderThanHere: 0 };
  const domains = [...new Set(fresh.map((r) => r.domain))];
  const [present] = await q.query<RowDataPacket[]>("SELECT domain FROM servers WHERE domain IN (?)", [domains]);
  const live = new Set(present.map((r) => r.domain as string));
  const [rows] = await q.query<RowDataPacket[]>("SELECT domain, user_id, created_at FROM ratings WHERE domain IN (?)", [domains]);
  const here = new Map(rows.map((r) => [key(r.domain, r.user_id), (r.created_at as Date).getTime()]));
  const copy: ImportedRating[] = [];
  let olderThanHere = 0;
  for (const r of fresh) {
    handled.push(r);
    // A server its owner removed here keeps its ratings out too.
    if (!live.has(r.domain)) continue;
    const mine = here.get(key(r.domain, r.userId));
    if (mine !== undefined && mine >= r.createdAtMs) olderThanHere++;
    else copy.push(r);
  }
  return { copy, handled, olderThanHere };
}

// ratings_domain_user compares with PAD SPACE.
const key = (domain: string, userId: string) => `${domain}\n${userId.replace(/ +$/, "")}`;

/** rating.created events shaped like the rating route's (src/store/ratings-repo.ts), with each server's summary. */
async function ratingEvents(conn: Conn, copied: ImportedRating[], domains: string[], nowMs: number): Promise<NewEvent[]> {
  const [sums] = await conn.query<RowDataPacket[]>(
    "SELECT s.domain, s.origin, COUNT(r.id) AS n, COALESCE(SUM(r.rating), 0) AS total FROM servers s JOIN ratings r ON r.domain = s.domain WHERE s.domain IN (?) GROUP BY s.domain, s.origin",
    [domains],
  );
  const summary = new Map(sums.map((r) => [r.domain as string, { origin: r.origin as string, count: Number(r.n), sum: Number(r.total) }]));
  return copied.map((r) => {
    const s = summary.get(r.domain)!;
    return {
      type: "rating.created" as const,
      domain: r.domain,
      origin: s.origin,
      atMs: nowMs,
      data: {
        rating: { user_id: r.userId, rating: r.rating, comment: r.comment, created_at: new Date(r.createdAtMs).toISOString() },
        summary: { average: Math.round((s.sum / s.count) * 100) / 100, count: s.count, sum: s.sum },
      },
    };
  });
}
