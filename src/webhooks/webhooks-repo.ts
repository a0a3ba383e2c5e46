// The webhooks table and what its owner may read: register (at most MAX_WEBHOOKS_PER_SERVER), list, delete, and
// the recent deliveries of one webhook with their attempts.
import { randomBytes } from "node:crypto";
import type { ResultSetHeader, RowDataPacket } from "mysql2/promise";
import type { EventType } from "../core/events.js";
import { NotFoundError, ValidationError } from "../core/errors.js";
import { inTransaction, type Db } from "../store/db.js";
import { SecretBox } from "./secrets.js";

export const MAX_WEBHOOKS_PER_SERVER = 5;

/** `paused_until`: set while deliveries are held back because the receiver keeps timing out (docs/webhooks.md). */
export type Webhook = { id: string; url: string; events: EventType[] | null; created_at: string; paused_until: string | null };

export type Delivery = {
  id: number;
  seq: number;
  type: string;
  status: "pending" | "succeeded" | "failed" | "dropped";
  attempts: number;
  next_attempt_at: string | null;
  last_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  history: { attempt: number; at: string; status_code: number | null; error: string | null; duration_ms: number }[];
};

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export class WebhooksRepo {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  /** Creates a webhook; the secret is returned here and never again. */
  async create(domain: string, url: string, events: EventType[] | null): Promise<{ webhook: Webhook; secret: string }> {
    const secret = SecretBox.generate();
    const id = `wh_${randomBytes(12).toString("hex")}`;
    const now = new Date();
    await inTransaction(this.db, async (conn) => {
      // The server row lock serialises concurrent registrations for one domain across nodes, so the limit holds.
      const [srv] = await conn.query<RowDataPacket[]>("SELECT domain FROM servers WHERE domain = ? FOR UPDATE", [domain]);
      if (srv.length === 0) throw new NotFoundError(`${domain} is not registered`);
      const [[{ n }]] = await conn.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM webhooks WHERE domain = ?", [domain]);
      if (Number(n) >= MAX_WEBHOOKS_PER_SERVER) {
        throw new ValidationError(`a server may have at most ${MAX_WEBHOOKS_PER_SERVER} webhooks; delete one first`, [
          { path: "url", message: `limit of ${MAX_WEBHOOKS_PER_SERVER} webhooks per server reached` },
        ]);
      }
      // A plain (non-locking) read: INSERT … SELECT would lock the end of the events index against event writers.
      const [[{ seq }]] = await conn.query<RowDataPacket[]>("SELECT COALESCE(MAX(seq), 0) AS seq FROM events");
      await conn.query("INSERT INTO webhooks (id, domain, url, events, secret, after_seq, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", [
        id, domain, url, events ? events.join(",") : null, this.box.seal(secret, id), seq, now,
      ]);
    });
    return { webhook: { id, url, events, created_at: now.toISOString(), paused_until: null }, secret };
  }

  async list(domain: string): Promise<Webhook[]> {
    const [rows] = await this.db.query<RowDataPacket[]>(
      `SELECT id, url, events, created_at, IF(paused_until > UTC_TIMESTAMP(3), paused_until, NULL) AS paused_until
       FROM webhooks WHERE domain = ? ORDER BY created_at, id`,
      [domain],
    );
    return rows.map(toWebhook);
  }

  async remove(domain: string, id: string): Promise<void> {
    const [res] = await this.db.query<ResultSetHeader>("DELETE FROM webhooks WHERE id = ? AND domain = ?", [id, domain]);
    if (res.affectedRows === 0) throw new NotFoundError(`no webhook ${id} for ${domain}`);
  }

  /** Newest first, each with its attempts oldest first; 404 when the webhook is not this domain's. */
  async deliveries(domain: string, id: string, limit: number, offset: number): Promise<Delivery[]> {
    const [hook] = await this.db.query<RowDataPacket[]>("SELECT id FROM webhooks WHERE id = ? AND domain = ?", [id, domain]);
    if (hook.length === 0) throw new NotFoundError(`no webhook ${id} for ${domain}`);
    const [rows] = await this.db.query<RowDataPacket[]>(
      `SELECT id, seq, event_type, status, attempts, next_attempt_at, last_attempt_at, last_status_code, last_error, created_at, updated_at
       FROM webhook_deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT ? OFFSET ?`,
      [id, limit, offset],
    );
    const out: Delivery[] = rows.map((r) => ({
      id: Number(r.id),
      seq: Number(r.seq),
      type: r.event_type,
      status: r.status,
      attempts: r.attempts,
      next_attempt_at: r.status === "pending" ? iso(r.next_attempt_at) : null,
      last_attempt_at: iso(r.last_attempt_at),
      last_status_code: r.last_status_code,
      last_error: r.last_error,
      created_at: iso(r.created_at)!,
      updated_at: iso(r.updated_at)!,
      history: [],
    }));
    if (out.length > 0) {
      const byId = new Map(out.map((d) => [d.id, d]));
      const [attempts] = await this.db.query<RowDataPacket[]>(
        "SELECT delivery_id, attempt, at, status_code, error, duration_ms FROM webhook_attempts WHERE delivery_id IN (?) ORDER BY delivery_id, attempt",
        [out.map((d) => d.id)],
      );
      for (const a of attempts) {
        byId.get(Number(a.delivery_id))?.history.push({ attempt: a.attempt, at: iso(a.at)!, status_code: a.status_code, error: a.error, duration_ms: a.duration_ms });
      }
    }
    return out;
  }
}

function toWebhook(r: RowDataPacket): Webhook {
  return {
    id: r.id,
    url: r.url,
    events: r.events ? (String(r.events).split(",") as EventType[]) : null,
    created_at: (r.created_at as Date).toISOString(),
    paused_until: iso(r.paused_until),
  };
}
