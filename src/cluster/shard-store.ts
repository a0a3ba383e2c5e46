// MySQL side of shard ownership: the shard_epochs table (a fencing epoch per shard, claimed under the event lock).
import type { RowDataPacket } from "mysql2/promise";
import { inTransaction, type Db } from "../store/db.js";
import { lockEvents } from "../store/events-repo.js";

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
