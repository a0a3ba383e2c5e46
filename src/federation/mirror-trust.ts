// Peers and trust (contract §8.6): a mirrored record is listed with THIS registrar's check of its origin's challenge,
// re-checked like a local proof; and no origin may fill this registrar beyond FED_MAX_RECORDS_PER_ORIGIN.
import type { RowDataPacket } from "mysql2/promise";
import type { RegistryEvent } from "../core/events.js";
import { inTransaction, type Conn, type Db } from "../store/db.js";
import { appendEvents, lockEvents } from "../store/events-repo.js";
import type { PublicServer } from "./wire.js";

/** The public record as listed here: `verified` and `verified_at` are this registrar's own check. */
export function localView<T extends Pick<PublicServer, "verified">>(server: T, verifiedAtMs: number | null): T & { verified_at: string | null } {
  return { ...server, verified: verifiedAtMs !== null, verified_at: verifiedAtMs === null ? null : new Date(verifiedAtMs).toISOString() };
}

export type ProofWatch = { domain: string; origin: string; challenge: string | null };

/** A mirrored record got a (new) challenge: check it now; without one (or removed) there is nothing to check. */
export async function watchProofs(conn: Conn, watches: ProofWatch[], nowMs: number): Promise<void> {
  const now = new Date(nowMs);
  for (const w of watches) {
    if (w.challenge === null) {
      await conn.query("DELETE FROM trust_checks WHERE domain = ? AND origin = ?", [w.domain, w.origin]);
      continue;
    }
    await conn.query(
      `INSERT INTO trust_checks (domain, origin, next_check_at, first_failure_at, failures) VALUES (?, ?, ?, NULL, 0)
       ON DUPLICATE KEY UPDATE next_check_at = VALUES(next_check_at), first_failure_at = NULL, failures = 0, last_reason = NULL`,
      [w.domain, w.origin, now],
    );
  }
}

type Candidate = { change: { domain: string; origin: string; deleted: boolean } };

/**
 * Which new records of a batch do not fit their origin's quota. Only records that would become live count (updates
 * of records already held are always taken); the excess is dropped, and the caller counts and logs it.
 */
export async function overQuota(
  conn: Conn,
  batch: Iterable<Candidate>,
  current: Map<string, { deleted: boolean }>,
  maxPerOrigin: number,
): Promise<{ keys: Set<string>; byOrigin: Map<string, number> }> {
  const fresh = [...batch].filter((i) => {
    const row = current.get(`${i.change.domain} ${i.change.origin}`);
    return !i.change.deleted && (!row || row.deleted);
  });
  const keys = new Set<string>();
  const byOrigin = new Map<string, number>();
  if (fresh.length === 0) return { keys, byOrigin };
  const origins = [...new Set(fresh.map((i) => i.change.origin))];
  const [rows] = await conn.query<RowDataPacket[]>(
    "SELECT origin, COUNT(*) AS n FROM mirrored_servers WHERE deleted = 0 AND origin IN (?) GROUP BY origin",
    [origins],
  );
  const held = new Map(rows.map((r) => [r.origin as string, Number(r.n)]));
  for (const i of fresh) {
    const n = held.get(i.change.origin) ?? 0;
    if (n < maxPerOrigin) {
      held.set(i.change.origin, n + 1);
      continue;
    }
    keys.add(`${i.change.domain} ${i.change.origin}`);
    byOrigin.set(i.change.origin, (byOrigin.get(i.change.origin) ?? 0) + 1);
  }
  return { keys, byOrigin };
}

/**
 * Writes this registrar's own check of a mirrored record (verified since `verifiedAtMs`, or not: null) with a
 * `server.updated` event of the record's origin, so every node of this cluster, its feed and its listing see it.
 * Nothing when the state is already that one or the record is gone.
 */
export async function setMirroredTrust(db: Db, domain: string, origin: string, verifiedAtMs: number | null): Promise<RegistryEvent | null> {
  return inTransaction(db, async (conn) => {
    await lockEvents(conn);
    const [rows] = await conn.query<RowDataPacket[]>(
      "SELECT record, verified_at FROM mirrored_servers WHERE domain = ? AND origin = ? AND deleted = 0 FOR UPDATE",
      [domain, origin],
    );
    const row = rows[0];
    if (!row || row.record === null || (row.verified_at !== null) === (verifiedAtMs !== null)) return null;
    const record = localView(JSON.parse(row.record) as PublicServer, verifiedAtMs);
    await conn.query("UPDATE mirrored_servers SET verified_at = ?, record = ? WHERE domain = ? AND origin = ?", [
      verifiedAtMs === null ? null : new Date(verifiedAtMs), JSON.stringify(record), domain, origin,
    ]);
    await conn.query("INSERT INTO audit_log (at, actor, action, domain, detail) VALUES (UTC_TIMESTAMP(3), 'system:recheck', ?, ?, ?)", [
      verifiedAtMs === null ? "federation.unverify" : "federation.verify", domain, JSON.stringify({ origin }),
    ]);
    const [ev] = await appendEvents(conn, [{ type: "server.updated", domain, origin, atMs: Date.now(), data: record }]);
    return ev;
  });
}
