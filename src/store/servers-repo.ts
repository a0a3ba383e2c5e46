// The servers table: the MySQL implementation of the actors' ServerStore port, start-up load and liveness flush.
import type { ResultSetHeader, RowDataPacket } from "mysql2/promise";
import type { Initiator, RegistryEvent } from "../core/events.js";
import type { Fence, ServerStore, StatusChange } from "../../actors/ports.js";
import { ServerRecord, type ServerFields } from "../core/record.js";
import { BannedError, DomainTakenError, ShardMovedError } from "../core/errors.js";
import { tokenExpiresMs, type TokenPolicy } from "../core/tokens.js";
import { audit } from "./audit-repo.js";
import { sqlDateTime } from "../core/iso-time.js";
import { inTransaction, type Conn, type Db } from "./db.js";
import { appendEvents, lockEvents } from "./events-repo.js";
import { accrueUptime } from "./uptime-repo.js";
import { RegistrationCommits, SERVER_COLUMNS, SERVER_ROW, serverRowValues, type Registration } from "./registration-commits.js";
import { DAY_MS } from "../core/units.js";
import { RECORD_COLUMNS, ratingSummarySql, readTokenColumns, toRecord } from "./server-rows.js";

const COLUMN: Record<keyof ServerFields, string> = {
  name: "name", description: "description", icon: "icon", api_url: "api_url", ws_url: "ws_url", voice_url: "voice_url",
  voice_provider: "voice_provider", cdn_url: "cdn_url", protocols: "protocols", capabilities: "capabilities", version: "version",
  web_url: "web_url", languages: "languages", registration: "registration",
};

function columnValue(key: keyof ServerFields, value: unknown): unknown {
  return key === "protocols" || key === "capabilities" || key === "languages" ? JSON.stringify(value ?? []) : value;
}

/** Fails the transaction when a newer owner has taken the shard (call after lockEvents, which serialises it). */
export async function checkFence(conn: Conn, fence: Fence | undefined): Promise<void> {
  if (!fence) return;
  const [rows] = await conn.query<RowDataPacket[]>("SELECT epoch FROM shard_epochs WHERE shard = ? LOCK IN SHARE MODE", [fence.shard]);
  if (rows.length === 0 || Number(rows[0].epoch) !== fence.epoch) throw new ShardMovedError(`shard ${fence.shard} moved to another node`);
}

export type Liveness = { domain: string; lastSeenMs: number; userCount: number; channelCount: number; version: string | null; tokenExpiresMs: number };

export class ServersRepo implements ServerStore {
  private readonly registrations: RegistrationCommits;

  constructor(
    private readonly db: Db,
    private readonly tokens: TokenPolicy,
    /** UPTIME_RETENTION_DAYS: a status span is counted no further back than this. */
    private readonly uptimeRetentionDays = 400,
  ) {
    this.registrations = new RegistrationCommits(db, tokens, (r) => this.insertAlone(r));
  }

  /** Registrations that arrive while another commits are committed together (src/store/registration-commits.ts). */
  insertServer(rec: ServerRecord, by: Initiator, fence?: Fence): Promise<RegistryEvent> {
    return this.registrations.insert({ rec, by, fence });
  }

  /** One registration in its own transaction (the group's fallback, and a group of one). */
  private async insertAlone({ rec, by, fence }: Registration): Promise<RegistryEvent> {
    return inTransaction(this.db, async (conn) => {
      await lockEvents(conn);
      await checkFence(conn, fence);
      // Contract §8.5: a banned domain cannot register, through either dialect; checked here, in the transaction.
      const [banned] = await conn.query<RowDataPacket[]>("SELECT 1 FROM bans WHERE domain = ?", [rec.domain]);
      if (banned.length > 0) throw new BannedError(`${rec.domain} is banned at this registrar`);
      try {
        await conn.query(`INSERT INTO servers (${SERVER_COLUMNS}) VALUES ${SERVER_ROW}`, serverRowValues(rec, this.tokens));
      } catch (err) {
        if ((err as { code?: string }).code === "ER_DUP_ENTRY") throw new DomainTakenError(`${rec.domain} is already registered`, { cause: err });
        throw err;
      }
      await audit(conn, by, "server.register", rec.domain);
      const [ev] = await appendEvents(conn, [{ type: "server.registered", domain: rec.domain, origin: rec.origin, atMs: rec.createdAtMs, data: rec.toPublic() }]);
      return ev;
    });
  }

  async updateServer(rec: ServerRecord, changed: Partial<ServerFields>, by: Initiator, fence?: Fence): Promise<RegistryEvent | null> {
    const keys = Object.keys(changed) as (keyof ServerFields)[];
    return inTransaction(this.db, async (conn) => {
      await lockEvents(conn);
      await checkFence(conn, fence);
      const now = Date.now();
      const [res] = await conn.query<ResultSetHeader>(
        `UPDATE servers SET ${keys.map((k) => `${COLUMN[k]} = ?`).join(", ")}, updated_at = ?, record_version = ?, token_expires_at = ?
         WHERE domain = ?`,
        [...keys.map((k) => columnValue(k, changed[k])), new Date(now), rec.recordVersion, new Date(tokenExpiresMs(rec, this.tokens)), rec.domain],
      );
      if (res.affectedRows === 0) return null;
      await audit(conn, by, "server.update", rec.domain, { fields: keys });
      rec.json = null;
      const [ev] = await appendEvents(conn, [{ type: "server.updated", domain: rec.domain, origin: rec.origin, atMs: now, data: rec.toPublic() }]);
      return ev;
    });
  }

  async deleteServer(domain: string, by: Initiator, fence?: Fence, action = "server.remove", detail?: Record<string, unknown>): Promise<RegistryEvent | null> {
    return inTransaction(this.db, async (conn) => {
      await lockEvents(conn);
      await checkFence(conn, fence);
      const [rows] = await conn.query<RowDataPacket[]>("SELECT origin FROM servers WHERE domain = ? FOR UPDATE", [domain]);
      if (rows.length === 0) return null;
      await conn.query("DELETE FROM servers WHERE domain = ?", [domain]);
      // Its proof goes with it (challenges cascade): nobody re-checks a record that is gone.
      await conn.query("DELETE FROM trust_checks WHERE domain = ? AND origin = ?", [domain, rows[0].origin]);
      await audit(conn, by, action, domain, detail);
      const [ev] = await appendEvents(conn, [{ type: "server.removed", domain, origin: rows[0].origin, atMs: Date.now(), data: {} }]);
      return ev;
    });
  }

  async rotateToken(domain: string, tokenHash: string, issuedMs: number, expiresMs: number, by: Initiator, fence?: Fence, action = "server.token_rotate"): Promise<boolean> {
    return inTransaction(this.db, async (conn) => {
      if (fence) {
        await lockEvents(conn);
        await checkFence(conn, fence);
      }
      const [res] = await conn.query<ResultSetHeader>(
        "UPDATE servers SET token_hash = UNHEX(?), token_issued_at = ?, token_expires_at = ? WHERE domain = ?",
        [tokenHash, new Date(issuedMs), new Date(expiresMs), domain],
      );
      if (res.affectedRows === 0) return false;
      await audit(conn, by, action, domain);
      return true;
    });
  }

  async writeTrust(rec: ServerRecord, by: Initiator, action: string, detail: Record<string, unknown>, fence?: Fence, token?: { expiresMs: number }): Promise<RegistryEvent | null> {
    return inTransaction(this.db, async (conn) => {
      await lockEvents(conn);
      await checkFence(conn, fence);
      const now = Date.now();
      const tokenSql = token ? ", token_hash = UNHEX(?), token_issued_at = ?, token_expires_at = ?" : "";
      const tokenArgs = token ? [rec.tokenHash, new Date(rec.tokenIssuedMs), new Date(token.expiresMs)] : [];
      const [res] = await conn.query<ResultSetHeader>(
        `UPDATE servers SET verified = ?, verified_at = ?, verified_challenge = ?, record_version = ?, updated_at = ?${tokenSql} WHERE domain = ?`,
        [rec.verified ? 1 : 0, rec.verifiedAtMs ? new Date(rec.verifiedAtMs) : null, rec.verifiedChallenge, rec.recordVersion, new Date(now), ...tokenArgs, rec.domain],
      );
      if (res.affectedRows === 0) return null;
      // A proof used for recovery is spent; any pending verification of the previous holder is void too.
      if (token) await conn.query("DELETE FROM trust_challenges WHERE domain = ?", [rec.domain]);
      await audit(conn, by, action, rec.domain, { verified: rec.verified, ...detail });
      rec.json = null;
      const [ev] = await appendEvents(conn, [{ type: "server.updated", domain: rec.domain, origin: rec.origin, atMs: now, data: rec.toPublic() }]);
      return ev;
    });
  }

  async persistStatuses(changes: StatusChange[]): Promise<RegistryEvent[]> {
    if (changes.length === 0) return [];
    return inTransaction(this.db, async (conn) => {
      await lockEvents(conn);
      const valid = await this.fencedOnly(conn, changes);
      if (valid.length === 0) return [];
      const [rows] = await conn.query<RowDataPacket[]>(
        "SELECT domain, status, status_since, origin FROM servers WHERE domain IN (?) FOR UPDATE",
        [valid.map((c) => c.domain)],
      );
      const current = new Map(rows.map((r) => [r.domain as string, r]));
      const real = valid.filter((c) => current.has(c.domain) && current.get(c.domain)!.status !== c.status);
      // Each change takes effect when it was decided (StatusChange.atMs), never before the stretch it ends began
      // (another node's clock, a record reloaded mid-flight).
      const at = new Map(real.map((c) => [c.domain, Math.max(c.atMs, (current.get(c.domain)!.status_since as Date).getTime())]));
      for (const status of ["online", "offline"] as const) {
        const group = real.filter((c) => c.status === status);
        if (group.length === 0) continue;
        // Joined to a JSON_TABLE like flushLiveness: a CASE list costs MariaDB O(n²) in the batch size, and
        // StatusSync's batches grow to 2,000 rows when deadlines come in bursts.
        const rows = `[${group.map((c) => `[${JSON.stringify(c.domain)},"${sqlDateTime(c.lastSeenMs)}","${sqlDateTime(at.get(c.domain)!)}"]`).join(",")}]`;
        await conn.query(
          `UPDATE servers s JOIN JSON_TABLE(?, '$[*]' COLUMNS (
             domain VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin PATH '$[0]',
             last_seen DATETIME(3) PATH '$[1]',
             status_since DATETIME(3) PATH '$[2]')) j ON s.domain = j.domain
           SET s.status = ?, s.status_since = j.status_since, s.last_seen = j.last_seen`,
          [rows, status],
        );
      }
      // Contract §9.2: the stretch that just ended goes into the daily uptime rollup, in this transaction; the
      // event carries the same instant, so each node's uptime_30d (src/uptime/tracker.ts) counts the same spans.
      await accrueUptime(
        conn,
        real.map((c) => {
          const row = current.get(c.domain)!;
          return { domain: c.domain, fromMs: (row.status_since as Date).getTime(), toMs: at.get(c.domain)!, online: row.status === "online" };
        }),
        Date.now() - this.uptimeRetentionDays * DAY_MS,
      );
      return appendEvents(
        conn,
        real.map((c) => ({
          type: "server.status" as const,
          domain: c.domain,
          origin: current.get(c.domain)!.origin,
          atMs: at.get(c.domain)!,
          data: { status: c.status, last_seen: new Date(c.lastSeenMs).toISOString() },
        })),
      );
    });
  }

  /** Drops the changes whose shard has a newer owner: that owner decides their status now. */
  private async fencedOnly(conn: Conn, changes: StatusChange[]): Promise<StatusChange[]> {
    const shards = [...new Set(changes.filter((c) => c.fence).map((c) => c.fence!.shard))];
    if (shards.length === 0) return changes;
    const [rows] = await conn.query<RowDataPacket[]>("SELECT shard, epoch FROM shard_epochs WHERE shard IN (?) LOCK IN SHARE MODE", [shards]);
    const epochs = new Map(rows.map((r) => [Number(r.shard), Number(r.epoch)]));
    return changes.filter((c) => !c.fence || epochs.get(c.fence.shard) === c.fence.epoch);
  }

  /**
   * Writes heartbeat soft state for many servers: one UPDATE joined to a JSON_TABLE per chunk, one primary-key row
   * write per server (MariaDB 10.6+, MySQL 8.0+). A CASE list would cost the database O(n²) per chunk.
   */
  async flushLiveness(batch: Liveness[]): Promise<void> {
    for (let i = 0; i < batch.length; i += 5000) {
      // The JSON rows are written as text directly: no array per row, no second pass through JSON.stringify.
      let rows = "[";
      for (let j = i; j < Math.min(i + 5000, batch.length); j++) {
        const l = batch[j];
        rows += `${j > i ? "," : ""}[${JSON.stringify(l.domain)},"${sqlDateTime(l.lastSeenMs)}",${l.userCount},${l.channelCount},${l.version === null ? "null" : JSON.stringify(l.version)},"${sqlDateTime(l.tokenExpiresMs)}"]`;
      }
      rows += "]";
      await this.db.query(
        `UPDATE servers s JOIN JSON_TABLE(?, '$[*]' COLUMNS (
           domain VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin PATH '$[0]',
           last_seen DATETIME(3) PATH '$[1]',
           user_count INT UNSIGNED PATH '$[2]',
           channel_count INT UNSIGNED PATH '$[3]',
           version TEXT PATH '$[4]', -- TEXT: an imported version may be longer than §2 allows (migration 009)
           token_expires_at DATETIME(3) PATH '$[5]')) j ON s.domain = j.domain
         SET s.last_seen = GREATEST(s.last_seen, j.last_seen), -- a deposed owner's late flush never moves it back
             s.user_count = j.user_count, s.channel_count = j.channel_count, s.version = j.version,
             s.token_expires_at = j.token_expires_at`,
        [rows],
      );
    }
  }

  /**
   * Refreshes what only an owner needs (token, persisted status) from MySQL, keeping the freshest liveness: the
   * in-memory copy (kept by liveness gossip) may be newer than the last write-behind flush. Returns the domains
   * that are gone from MySQL.
   */
  async reloadOwnerState(records: ServerRecord[]): Promise<string[]> {
    const gone: string[] = [];
    for (let i = 0; i < records.length; i += 1000) {
      const part = records.slice(i, i + 1000);
      const [rows] = await this.db.query<RowDataPacket[]>(
        `SELECT domain, status, last_seen, user_count, channel_count, HEX(token_hash) AS token_hash, token_issued_at, token_expires_at,
           verified_challenge FROM servers WHERE domain IN (?)`,
        [part.map((r) => r.domain)],
      );
      const byDomain = new Map(rows.map((r) => [r.domain as string, r]));
      for (const rec of part) {
        const row = byDomain.get(rec.domain);
        if (!row) {
          gone.push(rec.domain);
          continue;
        }
        readTokenColumns(rec, row, this.tokens);
        rec.verifiedChallenge = row.verified_challenge ?? null;
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

  /** The ServerStore port's name for loadByDomains (actors/ports.ts). */
  loadServers(domains: string[]): Promise<ServerRecord[]> {
    return this.loadByDomains(domains);
  }

  /** Loads the named servers (a node that missed their registration, e.g. while NATS was away). */
  async loadByDomains(domains: string[]): Promise<ServerRecord[]> {
    if (domains.length === 0) return [];
    const [rows] = await this.db.query<RowDataPacket[]>(
      `SELECT ${RECORD_COLUMNS} FROM servers s LEFT JOIN (${ratingSummarySql("WHERE domain IN (?)")}) r ON r.domain = s.domain
       WHERE s.domain IN (?)`,
      [domains, domains],
    );
    const interned = new Map<string, readonly string[]>();
    return rows.map((row) => toRecord(row, this.tokens, interned));
  }

  /** Loads every server into records, streaming so a million rows do not sit in one result array. */
  async loadAll(onRecord: (r: ServerRecord) => void): Promise<number> {
    const conn = await this.db.getConnection();
    try {
      // The callback-style core connection streams rows; the promise wrapper would buffer them all.
      const core = (conn as unknown as { connection: { query(sql: string): { stream(o: object): AsyncIterable<RowDataPacket> } } }).connection;
      const rows = core
        .query(
          `SELECT ${RECORD_COLUMNS}
           FROM servers s LEFT JOIN (${ratingSummarySql("")}) r ON r.domain = s.domain`,
        )
        .stream({ highWaterMark: 1000 });
      let n = 0;
      const interned = new Map<string, readonly string[]>();
      for await (const row of rows) {
        onRecord(toRecord(row, this.tokens, interned));
        n++;
      }
      return n;
    } finally {
      conn.release();
    }
  }
}
