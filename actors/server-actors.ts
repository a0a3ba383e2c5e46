// The server actors of this node: one logical actor per registered domain, its messages run in order through a
// mailbox; it authenticates, keeps soft state, owns the offline deadline and decides status transitions.
import { DomainTakenError, NotFoundError, NotOwnerError, TokenExpiredError, UnauthorizedError } from "../src/errors.js";
import { generateToken, hashToken, tokensMatch } from "../src/security/tokens.js";
import type { Clock } from "./clock.js";
import { Mailboxes } from "./mailbox.js";
import type { Actor, EventSink, Fence, LivenessSink, RegistryEvent, ServerStore } from "./ports.js";
import { ServerRecord, type ServerFields, type Stats } from "./server-record.js";
import { StatusSync } from "./status-sync.js";
import { DeadlineWheel } from "./timers.js";

const DAY_MS = 86_400_000;
const STATUS_FIELDS = 16 | 1 | 2; // last_seen, users, channels (see SORT_FIELD)

/** What the actors need from the directory: lookup plus index-aware mutation. */
export interface DirectoryPort {
  get(domain: string): ServerRecord | undefined;
  add(r: ServerRecord): void;
  remove(r: ServerRecord): void;
  update(r: ServerRecord, fields: number, text: boolean, mutate: () => void): void;
  values(): IterableIterator<ServerRecord>;
}

/** Shard ownership as the actors see it: a fence for writes, or a ShardMovedError when this node is not the owner. */
export interface Ownership {
  fence(domain: string): Fence | undefined;
}

export const SINGLE_NODE: Ownership = { fence: () => undefined };

export type ActorSettings = {
  registrarId: string;
  offlineAfterMs: number;
  tokenTtlDays: number;
  tokenMaxAgeDays: number;
};

/** tokenIssuedMs lets a WebSocket session that proved its token at identify heartbeat without re-hashing it. */
export type HeartbeatReply = { status: "online"; lastSeenMs: number; tokenExpiresMs: number; tokenIssuedMs: number };
/** Replies carry the record as JSON so they cross the network unchanged; seq lets the edge wait for its directory. */
export type RegisterReply = { recordJson: string; token: string; tokenExpiresMs: number; seq: number };
export type UpdateReply = { recordJson: string; seq: number };
export type RotateReply = { token: string; tokenExpiresMs: number };

/** What the edge (HTTP, WebSocket) asks of a server's actor, wherever that actor lives. */
export interface ActorApi {
  register(domain: string, fields: ServerFields, by: Actor): Promise<RegisterReply>;
  /**
   * With `sessionTokenIssuedMs` (and no token) the caller is a session that proved the token issued then at identify:
   * it stays valid until the token is rotated or expires, without hashing it again on every heartbeat.
   */
  heartbeat(domain: string, token: string | null, stats: Stats, sessionTokenIssuedMs?: number): Promise<HeartbeatReply>;
  update(domain: string, token: string | null, changed: Partial<ServerFields>, by: Actor): Promise<UpdateReply>;
  remove(domain: string, token: string | null, by: Actor): Promise<{ seq: number }>;
  rotateToken(domain: string, token: string | null, by: Actor): Promise<RotateReply>;
}

export class ServerActors implements ActorApi {
  private readonly mailboxes = new Mailboxes();
  readonly wheel: DeadlineWheel<ServerRecord>;
  readonly statusSync: StatusSync;
  /** Counters for metrics. */
  readonly stats = { heartbeats: 0, transitions: { online: 0, offline: 0 } };

  constructor(
    private readonly settings: ActorSettings,
    private readonly directory: DirectoryPort,
    private readonly store: ServerStore,
    private readonly events: EventSink,
    private readonly liveness: LivenessSink,
    private readonly clock: Clock,
    onStoreError: (err: unknown) => void,
    private readonly ownership: Ownership = SINGLE_NODE,
  ) {
    this.wheel = new DeadlineWheel(clock, (rec) => void this.timerFired(rec));
    this.statusSync = new StatusSync(store, events, onStoreError, (rec) => this.fenceOrNull(rec.domain));
  }

  private fenceOrNull(domain: string): Fence | undefined | null {
    try {
      return this.ownership.fence(domain);
    } catch {
      return null;
    }
  }

  get mailboxesBusy(): number {
    return this.mailboxes.busy;
  }

  /** Single node: owns every local record. Those whose deadline passed while no node ran turn offline now. */
  start(): void {
    this.adopt(this.directory.values(), 0);
    this.wheel.start();
  }

  /** Cluster mode: starts the timer wheel; records arrive shard by shard through adopt(). */
  startWheel(): void {
    this.wheel.start();
  }

  /**
   * Takes over timers for records this node now owns. A deadline that passed less than graceMs ago (the owner
   * moved; a heartbeat may be waiting at an edge for the new owner) gets graceMs more; older ones fire now.
   */
  adopt(records: Iterable<ServerRecord>, graceMs: number): void {
    const now = this.clock.now();
    for (const rec of records) {
      if (rec.origin !== this.settings.registrarId || rec.status !== "online") continue;
      const deadline = rec.lastSeenMs + this.settings.offlineAfterMs;
      if (deadline <= now - graceMs || (graceMs === 0 && deadline <= now)) {
        this.goOffline(rec);
        continue;
      }
      rec.deadlineMs = Math.max(deadline, now + graceMs);
      this.wheel.arm(rec);
    }
  }

  /** Gives up timers of records whose shard moved away (after flushing). */
  release(records: Iterable<ServerRecord>): void {
    for (const rec of records) {
      this.wheel.disarm(rec);
      this.statusSync.forget(rec);
    }
  }

  /** Resolves when no message for these domains is queued or running. */
  async quiesce(): Promise<void> {
    await this.mailboxes.idle();
  }

  async stop(): Promise<void> {
    this.wheel.stop();
    await this.mailboxes.idle();
    await this.statusSync.flush();
  }

  register(domain: string, fields: ServerFields, by: Actor): Promise<RegisterReply> {
    return this.mailboxes.post(domain, async () => {
      this.ownership.fence(domain);
      if (this.directory.get(domain)) throw new DomainTakenError(`${domain} is already registered`);
      const now = this.clock.now();
      const rec = new ServerRecord(domain, this.settings.registrarId);
      rec.applyFields(fields);
      rec.createdAtMs = now;
      rec.lastSeenMs = now;
      const token = this.issueToken(rec, now);
      const ev = await this.store.insertServer(rec, by, this.ownership.fence(domain));
      rec.deadlineMs = now + this.settings.offlineAfterMs;
      this.directory.add(rec);
      this.wheel.arm(rec);
      this.events.publish(ev);
      return { recordJson: rec.toJson(), token, tokenExpiresMs: this.tokenExpiresMs(rec), seq: ev.seq };
    });
  }

  heartbeat(domain: string, token: string | null, stats: Stats, sessionTokenIssuedMs?: number): Promise<HeartbeatReply> {
    return this.mailboxes.post(domain, () => {
      const rec = token === null && sessionTokenIssuedMs !== undefined ? this.authenticateSession(domain, sessionTokenIssuedMs) : this.authenticate(domain, token);
      const now = this.clock.now();
      this.stats.heartbeats++;
      this.directory.update(rec, STATUS_FIELDS, false, () => {
        rec.lastSeenMs = now;
        rec.tokenActivityMs = now;
        if (stats.user_count !== undefined) rec.userCount = stats.user_count;
        if (stats.channel_count !== undefined) rec.channelCount = stats.channel_count;
        if (stats.version !== undefined) rec.version = stats.version;
        if (rec.status === "offline") {
          rec.status = "online";
          this.stats.transitions.online++;
          this.statusSync.enqueue(rec);
        }
      });
      rec.deadlineMs = now + this.settings.offlineAfterMs;
      this.wheel.arm(rec);
      this.liveness.markDirty(rec);
      return { status: "online" as const, lastSeenMs: now, tokenExpiresMs: this.tokenExpiresMs(rec), tokenIssuedMs: rec.tokenIssuedMs };
    });
  }

  update(domain: string, token: string | null, changed: Partial<ServerFields>, by: Actor): Promise<UpdateReply> {
    return this.mailboxes.post(domain, async () => {
      const rec = this.authenticate(domain, token);
      // Build the new state on a copy so a failed write leaves memory untouched.
      const next = Object.assign(Object.create(Object.getPrototypeOf(rec)), rec) as ServerRecord;
      next.applyFields(changed);
      next.recordVersion = rec.recordVersion + 1;
      next.tokenActivityMs = this.clock.now();
      const ev = await this.store.updateServer(next, changed, by, this.ownership.fence(domain));
      if (!ev) throw new NotFoundError(`${domain} is not registered`);
      this.directory.update(rec, 4, true, () => {
        rec.applyFields(changed);
        rec.recordVersion = next.recordVersion;
        rec.tokenActivityMs = next.tokenActivityMs;
      });
      this.events.publish(ev);
      return { recordJson: rec.toJson(), seq: ev.seq };
    });
  }

  remove(domain: string, token: string | null, by: Actor): Promise<{ seq: number }> {
    return this.mailboxes.post(domain, async () => {
      const rec = this.authenticate(domain, token);
      const ev = await this.store.deleteServer(domain, by, this.ownership.fence(domain));
      this.wheel.disarm(rec);
      this.statusSync.forget(rec);
      this.directory.remove(rec);
      if (ev) this.events.publish(ev);
      return { seq: ev?.seq ?? 0 };
    });
  }

  rotateToken(domain: string, token: string | null, by: Actor): Promise<RotateReply> {
    return this.mailboxes.post(domain, async () => {
      const rec = this.authenticate(domain, token);
      const now = this.clock.now();
      const fresh = generateToken();
      const hash = hashToken(fresh).toString("hex");
      const expires = Math.min(now + this.settings.tokenTtlDays * DAY_MS, now + this.settings.tokenMaxAgeDays * DAY_MS);
      if (!(await this.store.rotateToken(domain, hash, now, expires, by, this.ownership.fence(domain)))) throw new UnauthorizedError("invalid token");
      rec.tokenHash = hash;
      rec.tokenIssuedMs = now;
      rec.tokenActivityMs = now;
      return { token: fresh, tokenExpiresMs: this.tokenExpiresMs(rec) };
    });
  }

  /** Sliding expiry capped by the absolute one (contract §3). */
  tokenExpiresMs(rec: ServerRecord): number {
    return Math.min(
      rec.tokenActivityMs + this.settings.tokenTtlDays * DAY_MS,
      rec.tokenIssuedMs + this.settings.tokenMaxAgeDays * DAY_MS,
    );
  }

  private issueToken(rec: ServerRecord, now: number): string {
    const token = generateToken();
    rec.tokenHash = hashToken(token).toString("hex");
    rec.tokenIssuedMs = now;
    rec.tokenActivityMs = now;
    return token;
  }

  private authenticate(domain: string, token: string | null): ServerRecord {
    // A message queued before its shard moved away must be retried at the new owner, not applied here.
    this.ownership.fence(domain);
    const rec = this.directory.get(domain);
    if (rec && rec.origin !== this.settings.registrarId) throw new NotOwnerError(`${domain} belongs to registrar ${rec.origin}`);
    // Unknown domain and wrong token look the same, so auth routes do not reveal which domains exist.
    if (!rec || !rec.tokenHash || token === null || !tokensMatch(token, Buffer.from(rec.tokenHash, "hex"))) {
      throw new UnauthorizedError("missing, malformed or wrong bearer token");
    }
    if (this.clock.now() >= this.tokenExpiresMs(rec)) throw new TokenExpiredError("token expired: rotate tokens before they expire (the registrar operator can reissue one)");
    return rec;
  }

  /** A session's proof: the token it identified with is still the current one (not rotated) and not expired. */
  private authenticateSession(domain: string, tokenIssuedMs: number): ServerRecord {
    this.ownership.fence(domain);
    const rec = this.directory.get(domain);
    if (rec && rec.origin !== this.settings.registrarId) throw new NotOwnerError(`${domain} belongs to registrar ${rec.origin}`);
    if (!rec || !rec.tokenHash || rec.tokenIssuedMs !== tokenIssuedMs) throw new UnauthorizedError("the token this session identified with is no longer valid");
    if (this.clock.now() >= this.tokenExpiresMs(rec)) throw new TokenExpiredError("token expired: rotate tokens before they expire (the registrar operator can reissue one)");
    return rec;
  }

  private timerFired(rec: ServerRecord): Promise<void> {
    return this.mailboxes.post(rec.domain, () => {
      if (this.directory.get(rec.domain) !== rec) return;
      if (rec.status !== "online" || rec.deadlineMs === 0) return;
      if (rec.deadlineMs > this.clock.now()) {
        this.wheel.arm(rec);
        return;
      }
      this.goOffline(rec);
    });
  }

  private goOffline(rec: ServerRecord): void {
    rec.deadlineMs = 0;
    this.directory.update(rec, 0, false, () => {
      rec.status = "offline";
    });
    this.stats.transitions.offline++;
    this.statusSync.enqueue(rec);
  }
}

export type { RegistryEvent };
