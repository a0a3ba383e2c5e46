// The events table: append under the event lock (so seq order is commit order), read ranges for replay and gaps.
import type { RowDataPacket, ResultSetHeader } from "mysql2/promise";
import type { EventType, RegistryEvent } from "../core/events.js";
import type { Conn, Db } from "./db.js";

export type NewEvent = { type: EventType; domain: string; origin: string; atMs: number; data: Record<string, unknown> };

/** Serialises event-writing transactions; call first inside the transaction. */
export async function lockEvents(conn: Conn): Promise<void> {
  await conn.query("SELECT id FROM event_lock WHERE id = 1 FOR UPDATE");
}

/** Inserts events in one statement; with the lock held their seqs are consecutive. */
export async function appendEvents(conn: Conn, events: NewEvent[]): Promise<RegistryEvent[]> {
  if (events.length === 0) return [];
  const [res] = await conn.query<ResultSetHeader>(
    "INSERT INTO events (type, domain, origin, at, data) VALUES ?",
    [events.map((e) => [e.type, e.domain, e.origin, new Date(e.atMs), JSON.stringify(e.data)])],
  );
  return events.map((e, i) => ({
    seq: res.insertId + i,
    type: e.type,
    domain: e.domain,
    origin: e.origin,
    at: new Date(e.atMs).toISOString(),
    data: e.data,
  }));
}

export async function readEvents(db: Db, afterSeq: number, limit: number, uptoSeq = Number.MAX_SAFE_INTEGER): Promise<RegistryEvent[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT seq, type, domain, origin, at, data FROM events WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
    [afterSeq, uptoSeq, limit],
  );
  return rows.map(toEvent);
}

export async function lastSeq(db: Db): Promise<number> {
  const [[row]] = await db.query<RowDataPacket[]>("SELECT COALESCE(MAX(seq), 0) AS seq FROM events");
  return Number(row.seq);
}

export async function oldestSeq(db: Db): Promise<number> {
  const [[row]] = await db.query<RowDataPacket[]>("SELECT COALESCE(MIN(seq), 0) AS seq FROM events");
  return Number(row.seq);
}

/** Deletes events older than the retention window, in small chunks so no long lock is held. */
export async function pruneEvents(db: Db, olderThanMs: number, chunk = 5000): Promise<number> {
  let total = 0;
  for (;;) {
    const [res] = await db.query<ResultSetHeader>("DELETE FROM events WHERE at < ? ORDER BY seq LIMIT ?", [new Date(olderThanMs), chunk]);
    total += res.affectedRows;
    if (res.affectedRows < chunk) return total;
  }
}

function toEvent(r: RowDataPacket): RegistryEvent {
  return { seq: Number(r.seq), type: r.type, domain: r.domain, origin: r.origin, at: (r.at as Date).toISOString(), data: JSON.parse(r.data) };
}
