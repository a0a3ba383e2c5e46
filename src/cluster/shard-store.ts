// MySQL side of shard ownership: claim a fencing epoch, reload a shard's records' owner-only state.
import type { RowDataPacket } from "mysql2/promise";
import type { ServerRecord } from "../../actors/server-record.js";
import { inTransaction, type Db } from "../store/db.js";
import { lockEvents } from "../store/events-repo.js";

const DAY_MS = 86_400_000;

/** Increments the shard's epoch under the event lock: every later write of the previous owner fails its fence. */
export async function claimEpoch(db: Db, shard: number, nodeId: string): Promise<number> {
  return inTransaction(db, async (conn) => {
    await lockEvents(conn);
    await conn.query(
      "INSERT INTO shard_epochs (shard, node, epoch) VALUES (?, ?, 1) ON DUPLICATE KEY UPDATE node = VALUES(node), epoch = epoch + 1",
      [shard, nodeId],
    );
    const [[row]] = await conn.query<RowDataPacket[]>("SELECT epoch FROM shard_epochs WHERE shard = ?", [shard]);
    return Number(row.epoch);
  });
}

/**
 * Refreshes what only an owner needs (token, persisted status) from MySQL, keeping the freshest liveness: the
 * in-memory copy (kept by liveness gossip) may be newer than the last write-behind flush. Returns the domains
 * that are gone from MySQL.
 */
export async function reloadOwnerState(db: Db, records: ServerRecord[], tokenTtlDays: number): Promise<string[]> {
  const gone: string[] = [];
  for (let i = 0; i < records.length; i += 1000) {
    const part = records.slice(i, i + 1000);
    const [rows] = await db.query<RowDataPacket[]>(
      `SELECT domain, status, last_seen, user_count, channel_count, HEX(token_hash) AS token_hash, token_issued_at, token_expires_at
       FROM servers WHERE domain IN (?)`,
      [part.map((r) => r.domain)],
    );
    const byDomain = new Map(rows.map((r) => [r.domain as string, r]));
    for (const rec of part) {
      const row = byDomain.get(rec.domain);
      if (!row) {
        gone.push(rec.domain);
        continue;
      }
      rec.tokenHash = row.token_hash ? String(row.token_hash).toLowerCase() : null;
      rec.tokenIssuedMs = row.token_issued_at ? (row.token_issued_at as Date).getTime() : 0;
      rec.tokenActivityMs = row.token_expires_at ? (row.token_expires_at as Date).getTime() - tokenTtlDays * DAY_MS : 0;
      rec.persistedStatus = row.status;
      const dbSeen = (row.last_seen as Date).getTime();
      if (dbSeen > rec.lastSeenMs) {
        rec.lastSeenMs = dbSeen;
        rec.userCount = Number(row.user_count);
        rec.channelCount = Number(row.channel_count);
      }
      // The persisted status is the truth a new owner starts from; its timers decide what happens next.
      rec.status = row.status;
      rec.json = null;
    }
  }
  return gone;
}
