// Group commit for registrations: every registration waiting while one transaction commits goes into the next
// transaction together, so the event lock and the commit's log flush are paid once per group, not per server.
// Nothing is acknowledged before its group committed ("acknowledged means durable"), and a group appends its events
// in one statement under the event lock, so seq order stays commit order.
import type { ResultSetHeader, RowDataPacket } from "mysql2/promise";
import type { Initiator, RegistryEvent } from "../core/events.js";
import type { Fence } from "../../actors/ports.js";
import type { ServerRecord } from "../core/record.js";
import { BannedError, ShardMovedError } from "../core/errors.js";
import { tokenExpiresMs, type TokenPolicy } from "../core/tokens.js";
import { inTransaction, markCommit, type Conn, type Db } from "./db.js";
import { appendEvents, lockEvents } from "./events-repo.js";
import { isStoreUnavailable } from "./unavailable.js";

/** Registrations in one transaction at most: bounds statement size and the time the event lock is held. */
const MAX_GROUP = 200;

export type Registration = { rec: ServerRecord; by: Initiator; fence?: Fence };
type Pending = Registration & { resolve(ev: RegistryEvent): void; reject(err: unknown): void };
/** Writes one registration in its own transaction (the path a group falls back to). */
export type SingleInsert = (r: Registration) => Promise<RegistryEvent>;

/** The servers row of a new registration: one column list and one value order for the group and the single path. */
export const SERVER_COLUMNS = `domain, origin, name, description, icon, api_url, ws_url, voice_url, voice_provider, cdn_url,
  web_url, languages, registration,
  protocols, capabilities, version, user_count, channel_count, verified, status, status_since, last_seen, created_at, updated_at,
  record_version, token_hash, token_issued_at, token_expires_at`;
export const SERVER_ROW = `(${Array(28).fill("?").join(", ")})`;

export function serverRowValues(rec: ServerRecord, tokens: TokenPolicy): unknown[] {
  return [
    rec.domain, rec.origin, rec.name, rec.description, rec.icon, rec.apiUrl, rec.wsUrl, rec.voiceUrl, rec.voiceProvider,
    rec.cdnUrl, rec.webUrl, JSON.stringify(rec.languages), rec.registration,
    JSON.stringify(rec.protocols), JSON.stringify(rec.capabilities), rec.version, rec.userCount,
    rec.channelCount, rec.verified ? 1 : 0, rec.status, new Date(rec.createdAtMs), new Date(rec.lastSeenMs), new Date(rec.createdAtMs),
    new Date(rec.createdAtMs), rec.recordVersion, rec.tokenHash === null ? null : Buffer.from(rec.tokenHash, "hex"), new Date(rec.tokenIssuedMs),
    new Date(tokenExpiresMs(rec, tokens)),
  ];
}

export class RegistrationCommits {
  private queue: Pending[] = [];
  private running = false;

  constructor(
    private readonly db: Db,
    private readonly tokens: TokenPolicy,
    private readonly single: SingleInsert,
  ) {}

  /** Resolves with the server.registered event once the registration's group has committed. */
  insert(r: Registration): Promise<RegistryEvent> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...r, resolve, reject });
      if (!this.running) void this.run();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) await this.commitGroup(this.takeGroup());
    } finally {
      this.running = false;
    }
  }

  /** The oldest waiting registrations, one per domain (a second one for the same domain waits for the next group). */
  private takeGroup(): Pending[] {
    const group: Pending[] = [];
    const rest: Pending[] = [];
    const domains = new Set<string>();
    for (const p of this.queue) {
      if (group.length < MAX_GROUP && !domains.has(p.rec.domain)) {
        domains.add(p.rec.domain);
        group.push(p);
      } else rest.push(p);
    }
    this.queue = rest;
    return group;
  }

  private async commitGroup(group: Pending[]): Promise<void> {
    if (group.length === 1) {
      const [p] = group;
      await this.single(p).then(p.resolve, p.reject);
      return;
    }
    let refused: Map<Pending, Error>;
    let events: RegistryEvent[];
    try {
      ({ refused, events } = await inTransaction(this.db, (conn) => this.writeGroup(conn, group)));
    } catch (err) {
      // MySQL away, or a commit whose outcome could not be settled: the same answer for everyone in the group.
      if (isStoreUnavailable(err)) {
        for (const p of group) p.reject(err);
        return;
      }
      // Anything else (a row MySQL refused): each registration again on its own, so only the bad one fails.
      for (const p of group) await this.single(p).then(p.resolve, p.reject);
      return;
    }
    let i = 0;
    for (const p of group) {
      const err = refused.get(p);
      if (err) p.reject(err);
      else p.resolve(events[i++]);
    }
  }

  /** One transaction: the single path's checks (fence, ban) for the whole group, then one insert per table. */
  private async writeGroup(conn: Conn, group: Pending[]): Promise<{ refused: Map<Pending, Error>; events: RegistryEvent[] }> {
    await lockEvents(conn);
    const refused = new Map<Pending, Error>();
    const fenced = group.filter((p) => p.fence);
    if (fenced.length > 0) {
      const shards = [...new Set(fenced.map((p) => p.fence!.shard))];
      const [rows] = await conn.query<RowDataPacket[]>("SELECT shard, epoch FROM shard_epochs WHERE shard IN (?) LOCK IN SHARE MODE", [shards]);
      const epochs = new Map(rows.map((r) => [Number(r.shard), Number(r.epoch)]));
      for (const p of fenced) if (epochs.get(p.fence!.shard) !== p.fence!.epoch) refused.set(p, new ShardMovedError(`shard ${p.fence!.shard} moved to another node`));
    }
    const domains = group.filter((p) => !refused.has(p)).map((p) => p.rec.domain);
    if (domains.length > 0) {
      // Contract §8.5: a banned domain cannot register; checked here, in the transaction.
      const [banned] = await conn.query<RowDataPacket[]>("SELECT domain FROM bans WHERE domain IN (?)", [domains]);
      const bannedSet = new Set(banned.map((r) => String(r.domain)));
      for (const p of group) if (!refused.has(p) && bannedSet.has(p.rec.domain)) refused.set(p, new BannedError(`${p.rec.domain} is banned at this registrar`));
    }
    const accepted = group.filter((p) => !refused.has(p));
    if (accepted.length === 0) return { refused, events: [] };
    // A domain already taken fails the whole statement (rare: the actor checked the directory first); the group then
    // falls back to one transaction per registration, which answers that one with DomainTakenError.
    await conn.query(`INSERT INTO servers (${SERVER_COLUMNS}) VALUES ${accepted.map(() => SERVER_ROW).join(", ")}`, accepted.flatMap((p) => serverRowValues(p.rec, this.tokens)));
    const [audit] = await conn.query<ResultSetHeader>(
      `INSERT INTO audit_log (at, actor, action, domain, detail) VALUES ${accepted.map(() => "(UTC_TIMESTAMP(3), ?, 'server.register', ?, NULL)").join(", ")}`,
      accepted.flatMap((p) => [`${p.by.kind}:${p.by.id}`.slice(0, 253), p.rec.domain]),
    );
    // Any of the group's audit rows tells whether the group committed after a lost COMMIT answer.
    markCommit(conn, audit.insertId);
    const events = await appendEvents(
      conn,
      accepted.map((p) => ({ type: "server.registered" as const, domain: p.rec.domain, origin: p.rec.origin, atMs: p.rec.createdAtMs, data: p.rec.toPublic() })),
    );
    return { refused, events };
  }
}
