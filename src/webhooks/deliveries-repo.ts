// The webhook_deliveries table as a durable work queue: enqueue once per (webhook, seq), claim due rows under a
// lease so one node delivers each attempt, record outcomes, and the cursor of events already turned into rows.
import { randomBytes } from "node:crypto";
import type { PoolConnection, ResultSetHeader, RowDataPacket } from "mysql2/promise";
import type { RegistryEvent } from "../core/events.js";
import { DEFAULTS } from "../config.js";
import { inTransaction, type Db } from "../store/db.js";

export type ClaimedDelivery = {
  id: number;
  webhookId: string;
  domain: string;
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

/** next_attempt_at is now, or the end of the webhook's pause. */
const ROW = "(?, ?, ?, ?, 'pending', 0, GREATEST(UTC_TIMESTAMP(3), COALESCE(?, UTC_TIMESTAMP(3))), UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))";

/** Fairness limits of the queue (WEBHOOK_MAX_IN_FLIGHT_PER_*, WEBHOOK_MAX_PENDING, WEBHOOK_PAUSE_*). */
export type QueueLimits = {
  maxInFlightPerWebhook: number;
  maxInFlightPerDomain: number;
  maxPending: number;
  pauseAfterTimeouts: number;
  pauseMs: number;
};

export const QUEUE_DEFAULTS: QueueLimits = {
  maxInFlightPerWebhook: DEFAULTS.webhookMaxInFlightPerWebhook,
  maxInFlightPerDomain: DEFAULTS.webhookMaxInFlightPerDomain,
  maxPending: DEFAULTS.webhookMaxPending,
  pauseAfterTimeouts: DEFAULTS.webhookPauseAfterTimeouts,
  pauseMs: DEFAULTS.webhookPauseS * 1000,
};

type Candidate = { id: number; webhook_id: string; domain: string };

export class DeliveriesRepo {
  constructor(
    private readonly db: Db,
    private readonly opts: QueueLimits = QUEUE_DEFAULTS,
  ) {}

  /**
   * Turns events into pending deliveries for the webhooks that want them. INSERT IGNORE on UNIQUE(webhook_id, seq)
   * makes this idempotent: every node may enqueue every event it sees and each webhook still gets one delivery.
   * Then bounds each webhook's queue: beyond `maxPending` pending rows the oldest are dropped (status 'dropped').
   * Returns the rows actually created and the rows this call dropped.
   */
  async enqueue(events: RegistryEvent[]): Promise<{ created: number; dropped: number }> {
    const none = { created: 0, dropped: 0 };
    if (events.length === 0) return none;
    const domains = [...new Set(events.map((e) => e.domain))];
    const [hooks] = await this.db.query<RowDataPacket[]>("SELECT id, domain, events, after_seq, paused_until FROM webhooks WHERE domain IN (?) ORDER BY id", [domains]);
    if (hooks.length === 0) return none;
    const values: unknown[] = [];
    const touched = new Set<string>();
    let rows = 0;
    for (const ev of events) {
      let payload: string | null = null;
      for (const h of hooks) {
        if (h.domain !== ev.domain || ev.seq <= Number(h.after_seq)) continue;
        if (h.events && !String(h.events).split(",").includes(ev.type)) continue;
        payload ??= deliveryPayload(ev);
        values.push(h.id, ev.seq, ev.type, payload, h.paused_until);
        touched.add(h.id);
        rows++;
      }
    }
    if (rows === 0) return none;
    const [res] = await this.db.query<ResultSetHeader>(
      `INSERT IGNORE INTO webhook_deliveries (webhook_id, seq, event_type, payload, status, attempts, next_attempt_at, created_at, updated_at)
       VALUES ${Array(rows).fill(ROW).join(", ")}`,
      values,
    );
    if (res.affectedRows === 0) return none;
    let dropped = 0;
    // Trimming locks a range of the webhook's queue; the other node's outcome writes may pick it as deadlock victim.
    for (const id of touched) dropped += await retryOnLockConflict(() => this.trim(id));
    return { created: res.affectedRows, dropped };
  }

  /**
   * Drops the pending deliveries of one webhook older than its `maxPending` newest (a receiver that is down, or
   * paused, keeps the newest events, which say the current state). Idempotent: every node may run it after its
   * enqueue and the bound is the same. Rows in flight are left to finish.
   */
  private async trim(webhookId: string): Promise<number> {
    const [res] = await this.db.query<ResultSetHeader>(
      `UPDATE webhook_deliveries SET status = 'dropped', next_attempt_at = NULL, updated_at = UTC_TIMESTAMP(3),
         last_error = CONCAT('dropped: more than ', ?, ' pending deliveries')
       WHERE webhook_id = ? AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < UTC_TIMESTAMP(3))
         AND id <= (SELECT id FROM (SELECT id FROM webhook_deliveries WHERE webhook_id = ? AND status = 'pending'
                                    ORDER BY id DESC LIMIT 1 OFFSET ?) AS oldest_kept)`,
      [this.opts.maxPending, webhookId, webhookId, this.opts.maxPending],
    );
    return res.affectedRows;
  }

  /**
   * One more attempt of this webhook ended by a time limit. At `pauseAfterTimeouts` in a row the webhook is paused
   * for `pauseMs`; the count stays, so after the pause one more timeout (the probe) pauses it again at once.
   * Returns the end of the pause when this call paused it, else null.
   */
  async recordTimeout(webhookId: string): Promise<{ pausedUntil: Date; timeouts: number; pauses: number } | null> {
    return retryOnLockConflict(() => inTransaction(this.db, async (conn) => {
      // Assignments read the old count (MariaDB evaluates SET left to right): the pause columns come first.
      await conn.query(
        `UPDATE webhooks SET
           paused_until = IF(consecutive_timeouts + 1 >= ?, DATE_ADD(UTC_TIMESTAMP(3), INTERVAL ? MICROSECOND), paused_until),
           pauses = pauses + IF(consecutive_timeouts + 1 >= ?, 1, 0),
           consecutive_timeouts = consecutive_timeouts + 1
         WHERE id = ?`,
        [this.opts.pauseAfterTimeouts, this.opts.pauseMs * 1000, this.opts.pauseAfterTimeouts, webhookId],
      );
      const [[row]] = await conn.query<RowDataPacket[]>("SELECT consecutive_timeouts, paused_until, pauses FROM webhooks WHERE id = ?", [webhookId]);
      if (!row || row.consecutive_timeouts < this.opts.pauseAfterTimeouts) return null;
      // Its pending rows wait for the end of the pause: out of the due range the claims scan, and the listing
      // shows when they are tried next.
      await conn.query(
        `UPDATE webhook_deliveries SET next_attempt_at = GREATEST(next_attempt_at, ?)
         WHERE webhook_id = ? AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < UTC_TIMESTAMP(3))`,
        [row.paused_until, webhookId],
      );
      return { pausedUntil: row.paused_until as Date, timeouts: row.consecutive_timeouts, pauses: row.pauses };
    }));
  }

  /** The receiver answered (any HTTP status): the timeout streak ends. Writes only when there was one. */
  async recordAnswer(webhookId: string): Promise<void> {
    await retryOnLockConflict(() => this.db.query("UPDATE webhooks SET consecutive_timeouts = 0 WHERE id = ? AND consecutive_timeouts > 0", [webhookId]));
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
   * Claims up to `limit` due deliveries for `node` until the lease ends, fairly: every domain's first slot before
   * any domain's second (counting the attempts it has in flight, claimed by any node and not yet recorded), round
   * robin over a domain's webhooks, oldest due first; never more than the caps in flight per webhook and per
   * domain, and nothing of a paused webhook. So a backlog of one server's dead receivers, however old, neither
   * holds more than its per-domain cap of slots nor goes ahead of another server's fresh delivery.
   *
   * In one short READ COMMITTED transaction: pick candidates (no locks), lock one webhook row per candidate domain
   * (`FOR UPDATE SKIP LOCKED`: nodes claiming for the same domain at the same instant skip each other, so the caps
   * hold cluster-wide), count what is in flight for those domains, then lock and lease the chosen rows with
   * `SKIP LOCKED` (a row another node is recording is skipped, never waited for); a crashed node's rows come back
   * when its lease expires.
   */
  async claim(node: string, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    // Two nodes claiming at once can deadlock on the same rows; the loser's transaction rolled back whole (it claimed
    // nothing), so it is tried again like the outcome writes.
    return retryOnLockConflict(() => this.claimOnce(node, limit, leaseMs));
  }

  private async claimOnce(node: string, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const token = randomBytes(16).toString("hex");
    const { maxInFlightPerWebhook: perHook, maxInFlightPerDomain: perDomain } = this.opts;
    const conn = await this.db.getConnection();
    let claimed = 0;
    try {
      await conn.query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED");
      await conn.beginTransaction();
      const [candidates] = await conn.query<RowDataPacket[]>(
        `WITH busy AS (
           SELECT d.webhook_id, w.domain FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
           WHERE d.claimed_until >= UTC_TIMESTAMP(3)
         ), busy_hook AS (
           SELECT webhook_id, COUNT(*) AS n FROM busy GROUP BY webhook_id
         ), busy_domain AS (
           SELECT domain, COUNT(*) AS n FROM busy GROUP BY domain
         ), due AS (
           SELECT d.id, d.webhook_id, w.domain, d.next_attempt_at, COALESCE(bh.n, 0) AS hook_busy, COALESCE(bd.n, 0) AS domain_busy,
                  ROW_NUMBER() OVER (PARTITION BY d.webhook_id ORDER BY d.next_attempt_at, d.id) AS rn
           FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
             LEFT JOIN busy_hook bh ON bh.webhook_id = d.webhook_id LEFT JOIN busy_domain bd ON bd.domain = w.domain
           WHERE d.status = 'pending' AND d.next_attempt_at <= UTC_TIMESTAMP(3)
             AND (d.claimed_until IS NULL OR d.claimed_until < UTC_TIMESTAMP(3))
             AND (w.paused_until IS NULL OR w.paused_until <= UTC_TIMESTAMP(3))
         ), per_domain AS (
           SELECT id, webhook_id, domain, next_attempt_at, domain_busy,
                  ROW_NUMBER() OVER (PARTITION BY domain ORDER BY rn, next_attempt_at, id) AS drn
           FROM due WHERE rn + hook_busy <= ?
         )
         SELECT id, webhook_id, domain FROM per_domain WHERE drn + domain_busy <= ?
         ORDER BY domain_busy + drn, next_attempt_at, id LIMIT ?`,
        [perHook, perDomain, limit],
      );
      const chosen = candidates.length === 0 ? [] : await this.withinCaps(conn, candidates as Candidate[], limit);
      if (chosen.length > 0) {
        const [due] = await conn.query<RowDataPacket[]>(
          `SELECT id FROM webhook_deliveries
           WHERE id IN (?) AND status = 'pending' AND (claimed_until IS NULL OR claimed_until < UTC_TIMESTAMP(3))
           FOR UPDATE SKIP LOCKED`,
          [chosen],
        );
        if (due.length > 0) {
          const [res] = await conn.query<ResultSetHeader>(
            "UPDATE webhook_deliveries SET claimed_by = ?, claim_token = ?, claimed_until = DATE_ADD(UTC_TIMESTAMP(3), INTERVAL ? MICROSECOND) WHERE id IN (?)",
            [node, token, leaseMs * 1000, due.map((r) => r.id)],
          );
          claimed = res.affectedRows;
        }
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
      `SELECT d.id, d.webhook_id, w.domain, d.seq, d.event_type, d.payload, d.attempts, TIMESTAMPDIFF(MICROSECOND, d.created_at, UTC_TIMESTAMP(3)) AS age_us,
              w.url, w.secret
       FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.claim_token = ?`,
      [token],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      webhookId: r.webhook_id,
      domain: r.domain,
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
   * The candidates this claim may take, in their fair order: locks one webhook row per domain (the domain's claim
   * lock) and skips domains another node is claiming for right now, then applies the caps to what is in flight.
   */
  private async withinCaps(conn: PoolConnection, candidates: Candidate[], limit: number): Promise<number[]> {
    const domains = [...new Set(candidates.map((c) => c.domain))];
    const [leaders] = await conn.query<RowDataPacket[]>("SELECT MIN(id) AS id FROM webhooks WHERE domain IN (?) GROUP BY domain", [domains]);
    const [locked] = await conn.query<RowDataPacket[]>("SELECT domain FROM webhooks WHERE id IN (?) ORDER BY id FOR UPDATE SKIP LOCKED", [
      leaders.map((r) => r.id),
    ]);
    if (locked.length === 0) return [];
    const mine = new Set(locked.map((r) => r.domain as string));
    const [busy] = await conn.query<RowDataPacket[]>(
      `SELECT d.webhook_id, w.domain FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
       WHERE d.claimed_until >= UTC_TIMESTAMP(3) AND w.domain IN (?)`,
      [[...mine]],
    );
    const perHook = new Map<string, number>();
    const perDomain = new Map<string, number>();
    const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
    for (const b of busy) {
      bump(perHook, b.webhook_id);
      bump(perDomain, b.domain);
    }
    const out: number[] = [];
    for (const c of candidates) {
      if (out.length >= limit) break;
      if (!mine.has(c.domain)) continue;
      if ((perHook.get(c.webhook_id) ?? 0) >= this.opts.maxInFlightPerWebhook) continue;
      if ((perDomain.get(c.domain) ?? 0) >= this.opts.maxInFlightPerDomain) continue;
      bump(perHook, c.webhook_id);
      bump(perDomain, c.domain);
      out.push(Number(c.id));
    }
    return out;
  }

  /**
   * Records one attempt and its consequence. Fenced by the claim token: if the lease expired and another node
   * took the row, this node's late outcome is dropped instead of overwriting the newer state.
   */
  async complete(d: ClaimedDelivery, node: string, o: Outcome): Promise<boolean> {
    const status = o.kind === "retry" ? "pending" : o.kind;
    // A retry of a webhook paused meanwhile (this attempt's timeout paused it) waits for the end of the pause.
    const next =
      o.kind === "retry"
        ? `GREATEST(DATE_ADD(UTC_TIMESTAMP(3), INTERVAL ? MICROSECOND),
             COALESCE((SELECT w.paused_until FROM webhooks w WHERE w.id = webhook_deliveries.webhook_id), UTC_TIMESTAMP(3)))`
        : "NULL";
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
