// The webhook_deliveries table as a durable work queue: enqueue once per (webhook, seq), claim due rows under a
// lease so one node delivers each attempt, record outcomes, and the cursor of events already turned into rows.
import { randomBytes } from "node:crypto";
import type { ResultSetHeader, RowDataPacket } from "mysql2/promise";
import type { RegistryEvent } from "../core/events.js";
import { inTransaction, type Db } from "../store/db.js";

export type ClaimedDelivery = {
  id: number;
  seq: number;
  eventType: string;
  payload: string;
  /** Attempts made before this one. */
  attempts: number;
  /** Since the delivery was enqueued, by the database clock. */
  ageMs: number;
  url: string;
  storedSecret: string;
  claimToken: string;
};

export type Outcome =
  | { kind: "succeeded"; statusCode: number; durationMs: number }
  | { kind: "retry"; statusCode: number | null; error: string | null; durationMs: number; delayMs: number }
  | { kind: "failed"; statusCode: number | null; error: string | null; durationMs: number };

/** The body every attempt of a delivery sends (issue 4: `{seq, type, domain, at, data}`). */
export function deliveryPayload(ev: RegistryEvent): string {
  return JSON.stringify({ seq: ev.seq, type: ev.type, domain: ev.domain, at: ev.at, data: ev.data });
}

const ROW = "(?, ?, ?, ?, 'pending', 0, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))";

export class DeliveriesRepo {
  constructor(private readonly db: Db) {}

  /**
   * Turns events into pending deliveries for the webhooks that want them. INSERT IGNORE on UNIQUE(webhook_id, seq)
   * makes this idempotent: every node may enqueue every event it sees and each webhook still gets one delivery.
   * Returns the number of rows actually created.
   */
  async enqueue(events: RegistryEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    const domains = [...new Set(events.map((e) => e.domain))];
    const [hooks] = await this.db.query<RowDataPacket[]>("SELECT id, domain, events, after_seq FROM webhooks WHERE domain IN (?) ORDER BY id", [domains]);
    if (hooks.length === 0) return 0;
    const values: unknown[] = [];
    let rows = 0;
    for (const ev of events) {
      let payload: string | null = null;
      for (const h of hooks) {
        if (h.domain !== ev.domain || ev.seq <= Number(h.after_seq)) continue;
        if (h.events && !String(h.events).split(",").includes(ev.type)) continue;
        payload ??= deliveryPayload(ev);
        values.push(h.id, ev.seq, ev.type, payload);
        rows++;
      }
    }
    if (rows === 0) return 0;
    const [res] = await this.db.query<ResultSetHeader>(
      `INSERT IGNORE INTO webhook_deliveries (webhook_id, seq, event_type, payload, status, attempts, next_attempt_at, created_at, updated_at)
       VALUES ${Array(rows).fill(ROW).join(", ")}`,
      values,
    );
    return res.affectedRows;
  }

  async cursor(): Promise<number> {
    const [[row]] = await this.db.query<RowDataPacket[]>("SELECT COALESCE(MAX(seq), 0) AS seq FROM webhook_cursor");
    return Number(row.seq);
  }

  /** Records that every event up to `seq` has been enqueued (by this node, in order). Never moves back. */
  async advanceCursor(seq: number): Promise<void> {
    await this.db.query("INSERT INTO webhook_cursor (id, seq) VALUES (1, ?) ON DUPLICATE KEY UPDATE seq = GREATEST(seq, VALUES(seq))", [seq]);
  }

  /** Events after `afterSeq` (up to `uptoSeq`) about servers that have webhooks, oldest first. */
  async eventsForWebhooks(afterSeq: number, uptoSeq: number, limit: number): Promise<RegistryEvent[]> {
    const [rows] = await this.db.query<RowDataPacket[]>(
      `SELECT seq, type, domain, origin, at, data FROM events
       WHERE seq > ? AND seq <= ? AND domain IN (SELECT domain FROM webhooks) ORDER BY seq LIMIT ?`,
      [afterSeq, uptoSeq, limit],
    );
    return rows.map((r) => ({ seq: Number(r.seq), type: r.type, domain: r.domain, origin: r.origin, at: (r.at as Date).toISOString(), data: JSON.parse(r.data) }));
  }

  /**
   * Claims up to `limit` due deliveries for `node` until the lease ends. The due rows are picked with
   * `FOR UPDATE SKIP LOCKED` under READ COMMITTED, so competing nodes never wait on (or deadlock over) each
   * other's rows and each attempt has one owner; a crashed node's rows come back when its lease expires.
   */
  async claim(node: string, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const token = randomBytes(16).toString("hex");
    const conn = await this.db.getConnection();
    let claimed = 0;
    try {
      await conn.query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
      await conn.beginTransaction();
      const [due] = await conn.query<RowDataPacket[]>(
        `SELECT id FROM webhook_deliveries
         WHERE status = 'pending' AND next_attempt_at <= UTC_TIMESTAMP(3) AND (claimed_until IS NULL OR claimed_until < UTC_TIMESTAMP(3))
         ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      if (due.length > 0) {
        const [res] = await conn.query<ResultSetHeader>(
          "UPDATE webhook_deliveries SET claimed_by = ?, claim_token = ?, claimed_until = DATE_ADD(UTC_TIMESTAMP(3), INTERVAL ? MICROSECOND) WHERE id IN (?)",
          [node, token, leaseMs * 1000, due.map((r) => r.id)],
        );
        claimed = res.affectedRows;
      }
      await conn.commit();
    } catch (err) {
      await conn.rollback().catch(() => conn.destroy());
      throw err;
    } finally {
      conn.release();
    }
    if (claimed === 0) return [];
    const [rows] = await this.db.query<RowDataPacket[]>(
      `SELECT d.id, d.seq, d.event_type, d.payload, d.attempts, TIMESTAMPDIFF(MICROSECOND, d.created_at, UTC_TIMESTAMP(3)) AS age_us,
              w.url, w.secret
       FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.claim_token = ?`,
      [token],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      seq: Number(r.seq),
      eventType: r.event_type,
      payload: r.payload,
      attempts: r.attempts,
      ageMs: Math.floor(Number(r.age_us) / 1000),
      url: r.url,
      storedSecret: r.secret,
      claimToken: token,
    }));
  }

  /**
   * Records one attempt and its consequence. Fenced by the claim token: if the lease expired and another node
   * took the row, this node's late outcome is dropped instead of overwriting the newer state.
   */
  async complete(d: ClaimedDelivery, node: string, o: Outcome): Promise<boolean> {
    const status = o.kind === "retry" ? "pending" : o.kind;
    const next = o.kind === "retry" ? "DATE_ADD(UTC_TIMESTAMP(3), INTERVAL ? MICROSECOND)" : "NULL";
    const error = o.kind === "succeeded" ? null : truncate(o.error);
    return retryOnLockConflict(() => inTransaction(this.db, async (conn) => {
      const [res] = await conn.query<ResultSetHeader>(
        `UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, next_attempt_at = ${next},
           last_attempt_at = DATE_SUB(UTC_TIMESTAMP(3), INTERVAL ? MICROSECOND), last_status_code = ?, last_error = ?,
           claimed_by = NULL, claim_token = NULL, claimed_until = NULL, updated_at = UTC_TIMESTAMP(3)
         WHERE id = ? AND claim_token = ?`,
        [status, ...(o.kind === "retry" ? [o.delayMs * 1000] : []), o.durationMs * 1000, o.statusCode, error, d.id, d.claimToken],
      );
      if (res.affectedRows === 0) return false;
      await conn.query(
        `INSERT IGNORE INTO webhook_attempts (delivery_id, attempt, at, node, status_code, error, duration_ms)
         VALUES (?, ?, DATE_SUB(UTC_TIMESTAMP(3), INTERVAL ? MICROSECOND), ?, ?, ?, ?)`,
        [d.id, d.attempts + 1, o.durationMs * 1000, node, o.statusCode, error, o.durationMs],
      );
      return true;
    }));
  }

  /** Gives claimed rows back without counting an attempt (shutdown before they were sent). */
  async release(claims: { id: number; claimToken: string }[]): Promise<void> {
    if (claims.length === 0) return;
    await this.db.query(
      "UPDATE webhook_deliveries SET claimed_by = NULL, claim_token = NULL, claimed_until = NULL WHERE (id, claim_token) IN (?)",
      [claims.map((c) => [c.id, c.claimToken])],
    );
  }

  /** Deletes finished deliveries (and their attempts) last touched before `olderThanMs`, in small chunks. */
  async prune(olderThanMs: number, chunk = 1000): Promise<number> {
    let total = 0;
    for (;;) {
      const [res] = await this.db.query<ResultSetHeader>(
        "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND updated_at < ? ORDER BY id LIMIT ?",
        [new Date(olderThanMs), chunk],
      );
      total += res.affectedRows;
      if (res.affectedRows < chunk) return total;
    }
  }
}

/**
 * An outcome must be recorded once the receiver has seen the request, or it is sent again when the lease ends:
 * retry the short transaction when InnoDB picked it as a deadlock victim or it waited too long for a lock.
 */
async function retryOnLockConflict<T>(fn: () => Promise<T>, tries = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (i >= tries || (code !== "ER_LOCK_DEADLOCK" && code !== "ER_LOCK_WAIT_TIMEOUT")) throw err;
      await new Promise((r) => setTimeout(r, 5 * i + Math.random() * 20));
    }
  }
}

function truncate(s: string | null): string | null {
  return s === null ? null : s.length > 500 ? `${s.slice(0, 497)}...` : s;
}
