// The server actors of this node: one logical actor per registered domain, its messages run in order through a
// mailbox; it authenticates, keeps soft state, owns the offline deadline and decides status transitions.
import { AUTH_MESSAGES, DomainTakenError, NotFoundError, NotOwnerError, ShardMovedError, TokenExpiredError, UnauthorizedError } from "../src/core/errors.js";
import { CLIENT_FIELDS, NO_SORT_FIELD, SORT_FIELD, ServerRecord, type FieldMask } from "../src/core/record.js";
import { hashesMatch, tokenExpiresMs, tokenPolicy, type TokenPolicy } from "../src/core/tokens.js";
import type { Clock } from "./clock.js";
import { Mailboxes } from "./mailbox.js";
import type {
  ActorApi, AuthorizeCommand, AuthorizeReply, CommandType, EvictCommand, EvictReply, HeartbeatCommand, HeartbeatReply, RecoverCommand,
  RecoverReply, RegisterCommand, RegisterReply, ReissueReply, ReissueTokenCommand, RemoveCommand, RemoveReply, Replies, ReplyTo, RotateReply,
  RotateTokenCommand, ServerCommand, SetVerifiedCommand, SetVerifiedReply, UpdateCommand, UpdateReply,
} from "./commands.js";
import { SINGLE_NODE, type DirectoryPort, type EventSink, type Fence, type LivenessSink, type Ownership, type ServerStore } from "./ports.js";
import { StatusSync } from "./status-sync.js";
import { MassExpiryGuard, type MassExpirySettings } from "./mass-expiry.js";
import { DeadlineWheel } from "./timers.js";

export type ActorSettings = {
  registrarId: string;
  offlineAfterMs: number;
  /** Mass-expiry protection over the records this node owns (contract §10). */
  massExpiry: MassExpirySettings;
  tokenTtlDays: number;
  tokenMaxAgeDays: number;
};

export class ServerActors implements ActorApi {
  private readonly mailboxes = new Mailboxes();
  readonly wheel: DeadlineWheel<ServerRecord>;
  readonly statusSync: StatusSync;
  readonly expiry: MassExpiryGuard<ServerRecord>;
  /** Counters for metrics. */
  readonly stats = { heartbeats: 0, transitions: { online: 0, offline: 0 } };
  private readonly policy: TokenPolicy;

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
    this.policy = tokenPolicy(settings.tokenTtlDays, settings.tokenMaxAgeDays);
    this.wheel = new DeadlineWheel(clock, (rec) => void this.timerFired(rec));
    this.expiry = new MassExpiryGuard<ServerRecord>(settings.massExpiry, clock, {
      armed: () => this.wheel.size,
      expireNow: (recs) => {
        for (const rec of recs) void this.expireHeld(rec);
      },
      rearm: (recs) => {
        for (const rec of recs) void this.rearmHeld(rec);
      },
    });
    this.statusSync = new StatusSync(store, events, onStoreError, (rec) => this.fenceOrNull(rec.domain));
  }

  private fenceOrNull(domain: string): Fence | undefined | null {
    try {
      return this.ownership.fence(domain);
    } catch (err) {
      // Not the owner any more: the new owner decides this record's status. Anything else is a bug: rethrow.
      if (err instanceof ShardMovedError) return null;
      throw err;
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
    const overdue: ServerRecord[] = [];
    for (const rec of records) {
      if (rec.origin !== this.settings.registrarId || rec.status !== "online") continue;
      const deadline = rec.lastSeenMs + this.settings.offlineAfterMs;
      if (deadline <= now - graceMs || (graceMs === 0 && deadline <= now)) {
        rec.deadlineMs = deadline;
        overdue.push(rec);
        continue;
      }
      rec.deadlineMs = Math.max(deadline, now + graceMs);
      this.wheel.arm(rec);
    }
    // All at once, after the others are armed: a whole cluster back from a long outage is a mass expiry (§10).
    for (const rec of this.expiry.admit(overdue)) this.goOffline(rec);
  }

  /**
   * Takes over a record that was written to the store without this node's actors: by another process (the PHP
   * import, contract §7) or by another node in degraded mode. Runs in the domain's mailbox, after any command
   * already queued for it: it loads the record with its owner state (token hash) unless this node has it, then
   * arms its timer from its last_seen like adopt(). Resolves to whether it took the record over.
   */
  pickUp(domain: string, graceMs: number): Promise<boolean> {
    return this.mailboxes.post(domain, async () => {
      if (this.fenceOrNull(domain) === null) return false;
      let rec = this.directory.get(domain);
      if (!rec?.tokenHash) {
        const [stored] = await this.store.loadServers([domain]);
        if (!stored || stored.origin !== this.settings.registrarId) return false;
        rec = this.directory.get(domain);
        if (!rec) {
          this.directory.add(stored);
          rec = stored;
        } else if (!rec.tokenHash) {
          // Known from the event's public record only: the token is what an owner needs besides.
          rec.tokenHash = stored.tokenHash;
          rec.tokenIssuedMs = stored.tokenIssuedMs;
          rec.tokenActivityMs = stored.tokenActivityMs;
        }
      }
      if (rec.origin !== this.settings.registrarId) return false;
      this.adopt([rec], graceMs);
      return true;
    });
  }

  /** Gives up timers of records whose shard moved away (after flushing). */
  release(records: Iterable<ServerRecord>): void {
    for (const rec of records) {
      this.wheel.disarm(rec);
      this.expiry.forget(rec);
      this.statusSync.forget(rec);
    }
  }

  /** Resolves when no message for these domains is queued or running. */
  async quiesce(): Promise<void> {
    await this.mailboxes.idle();
  }

  async stop(): Promise<void> {
    this.wheel.stop();
    this.expiry.stop();
    await this.mailboxes.idle();
    await this.statusSync.flush();
  }

  /** Runs one command in its domain's mailbox. Exhaustive: a command type without a case fails to compile. */
  send<C extends ServerCommand>(cmd: C): Promise<ReplyTo<C>> {
    return this.handle(cmd) as Promise<ReplyTo<C>>;
  }

  handle(cmd: ServerCommand): Promise<Replies[CommandType]> {
    switch (cmd.type) {
      case "register":
        return this.mailboxes.post(cmd.domain, () => this.register(cmd));
      case "heartbeat":
        return this.mailboxes.post(cmd.domain, () => this.heartbeat(cmd));
      case "update":
        return this.mailboxes.post(cmd.domain, () => this.update(cmd));
      case "remove":
        return this.mailboxes.post(cmd.domain, () => this.remove(cmd));
      case "rotate_token":
        return this.mailboxes.post(cmd.domain, () => this.rotateToken(cmd));
      case "authorize":
        return this.mailboxes.post(cmd.domain, () => this.authorize(cmd));
      case "set_verified":
        return this.mailboxes.post(cmd.domain, () => this.setVerified(cmd));
      case "recover":
        return this.mailboxes.post(cmd.domain, () => this.recover(cmd));
      case "reissue_token":
        return this.mailboxes.post(cmd.domain, () => this.reissueToken(cmd));
      case "evict":
        return this.mailboxes.post(cmd.domain, () => this.evict(cmd));
      default:
        return unknownCommand(cmd);
    }
  }

  private async register(cmd: RegisterCommand): Promise<RegisterReply> {
    const { domain } = cmd;
    this.ownership.fence(domain);
    if (this.directory.get(domain)) throw new DomainTakenError(`${domain} is already registered`);
    const now = this.clock.now();
    const rec = new ServerRecord(domain, this.settings.registrarId);
    rec.applyFields(cmd.fields);
    rec.createdAtMs = now;
    rec.lastSeenMs = now;
    rec.tokenHash = cmd.tokenHash;
    rec.tokenIssuedMs = now;
    rec.tokenActivityMs = now;
    const ev = await this.store.insertServer(rec, cmd.by, this.ownership.fence(domain));
    rec.deadlineMs = now + this.settings.offlineAfterMs;
    this.directory.add(rec);
    this.wheel.arm(rec);
    this.events.publish(ev);
    return { recordJson: rec.replyJson(), tokenExpiresMs: this.tokenExpiresMs(rec), seq: ev.seq };
  }

  private heartbeat(cmd: HeartbeatCommand): HeartbeatReply {
    const rec = this.authenticate(cmd.domain, cmd.tokenHash);
    const { stats } = cmd;
    const now = this.clock.now();
    this.stats.heartbeats++;
    // Only the sort keys that really move: last_seen always (one index: newest-first reads it backwards), a count
    // only when it changed (a remove and an add in both orders' indexes).
    let fields: FieldMask = SORT_FIELD.last_seen;
    if (stats.user_count !== undefined && stats.user_count !== rec.userCount) fields |= SORT_FIELD.users;
    if (stats.channel_count !== undefined && stats.channel_count !== rec.channelCount) fields |= SORT_FIELD.channels;
    this.directory.update(rec, fields, false, () => {
      rec.lastSeenMs = now;
      rec.tokenActivityMs = now;
      if (stats.user_count !== undefined) rec.userCount = stats.user_count;
      if (stats.channel_count !== undefined) rec.channelCount = stats.channel_count;
      if (stats.version !== undefined) rec.version = stats.version;
      if (rec.status === "offline") {
        rec.status = "online";
        this.stats.transitions.online++;
        this.statusSync.enqueue(rec, now);
      }
    });
    rec.deadlineMs = now + this.settings.offlineAfterMs;
    this.wheel.arm(rec);
    this.expiry.heard(rec);
    this.liveness.markDirty(rec);
    return { status: "online", lastSeenMs: now, tokenExpiresMs: this.tokenExpiresMs(rec) };
  }

  private async update(cmd: UpdateCommand): Promise<UpdateReply> {
    const { domain, changed } = cmd;
    const rec = this.authenticate(domain, cmd.tokenHash);
    // Build the new state on a copy so a failed write leaves memory untouched.
    const next = Object.assign(Object.create(Object.getPrototypeOf(rec)), rec) as ServerRecord;
    next.applyFields(changed);
    next.tokenActivityMs = this.clock.now();
    // Contract §10: an update that changes nothing writes nothing and publishes no event. It still counts as the
    // token's activity (§3 sliding expiry), kept like a heartbeat's: in memory, written behind.
    if (sameClientFields(next, rec)) {
      rec.tokenActivityMs = next.tokenActivityMs;
      this.liveness.markDirty(rec);
      return { recordJson: rec.toJson(), seq: 0 };
    }
    next.recordVersion = rec.recordVersion + 1;
    const ev = await this.store.updateServer(next, changed, cmd.by, this.ownership.fence(domain));
    if (!ev) throw new NotFoundError(`${domain} is not registered`);
    this.directory.update(rec, CLIENT_FIELDS, true, () => {
      rec.applyFields(changed);
      rec.recordVersion = next.recordVersion;
      rec.tokenActivityMs = next.tokenActivityMs;
    });
    this.events.publish(ev);
    return { recordJson: rec.replyJson(), seq: ev.seq };
  }

  private async remove(cmd: RemoveCommand): Promise<RemoveReply> {
    return this.removeRecord(this.authenticate(cmd.domain, cmd.tokenHash), cmd.by);
  }

  private async removeRecord(rec: ServerRecord, by: RemoveCommand["by"], action?: string, detail?: Record<string, unknown>): Promise<RemoveReply> {
    const { domain } = rec;
    const ev = await this.store.deleteServer(domain, by, this.ownership.fence(domain), action, detail);
    this.wheel.disarm(rec);
    this.expiry.forget(rec);
    this.statusSync.forget(rec);
    this.directory.remove(rec);
    if (ev) this.events.publish(ev);
    return { seq: ev?.seq ?? 0 };
  }

  private async rotateToken(cmd: RotateTokenCommand): Promise<RotateReply> {
    const { domain } = cmd;
    const rec = this.authenticate(domain, cmd.tokenHash);
    const now = this.clock.now();
    const expires = tokenExpiresMs({ tokenIssuedMs: now, tokenActivityMs: now }, this.policy);
    if (!(await this.store.rotateToken(domain, cmd.newTokenHash, now, expires, cmd.by, this.ownership.fence(domain)))) {
      throw new UnauthorizedError("invalid token");
    }
    rec.tokenHash = cmd.newTokenHash;
    rec.tokenIssuedMs = now;
    rec.tokenActivityMs = now;
    return { tokenExpiresMs: this.tokenExpiresMs(rec) };
  }

  private authorize(cmd: AuthorizeCommand): AuthorizeReply {
    return { verified: this.authenticate(cmd.domain, cmd.tokenHash).verified };
  }

  /** The record this registrar owns, for commands that carry no token (their proof or authority was checked at the edge). */
  private ownRecord(domain: string): ServerRecord {
    this.ownership.fence(domain);
    const rec = this.directory.get(domain);
    if (rec && rec.origin !== this.settings.registrarId) throw new NotOwnerError(`${domain} belongs to registrar ${rec.origin}`);
    if (!rec) throw new NotFoundError(`${domain} is not registered`);
    return rec;
  }

  private async setVerified(cmd: SetVerifiedCommand): Promise<SetVerifiedReply> {
    const rec = cmd.tokenHash !== undefined ? this.authenticate(cmd.domain, cmd.tokenHash) : this.ownRecord(cmd.domain);
    const challenge = cmd.challenge === undefined ? rec.verifiedChallenge : cmd.challenge;
    // Contract §10: a change that changes nothing publishes nothing (a re-check that finds the same proof).
    if (rec.verified === cmd.verified && rec.verifiedChallenge === challenge) return { recordJson: rec.replyJson(), verifiedAtMs: rec.verifiedAtMs, seq: 0 };
    const next = this.copyOf(rec);
    next.verified = cmd.verified;
    // verified_at is when the current proof (or the operator's word) made it verified.
    next.verifiedAtMs = cmd.verified ? this.clock.now() : 0;
    next.verifiedChallenge = challenge;
    next.recordVersion = rec.recordVersion + 1;
    const action = cmd.by.kind === "admin" ? (cmd.verified ? "admin.verify" : "admin.unverify") : cmd.verified ? "server.verify" : "server.unverify";
    const ev = await this.store.writeTrust(next, cmd.by, action, cmd.reason ? { reason: cmd.reason } : {}, this.ownership.fence(cmd.domain));
    if (!ev) throw new NotFoundError(`${cmd.domain} is not registered`);
    this.applyTrust(rec, next);
    this.events.publish(ev);
    return { recordJson: rec.replyJson(), verifiedAtMs: rec.verifiedAtMs, seq: ev.seq };
  }

  private async recover(cmd: RecoverCommand): Promise<RecoverReply> {
    const rec = this.ownRecord(cmd.domain);
    const now = this.clock.now();
    const next = this.copyOf(rec);
    next.verified = true;
    next.verifiedAtMs = now;
    next.verifiedChallenge = cmd.challenge;
    next.recordVersion = rec.recordVersion + 1;
    next.tokenHash = cmd.newTokenHash;
    next.tokenIssuedMs = now;
    next.tokenActivityMs = now;
    const ev = await this.store.writeTrust(next, cmd.by, "server.recover", {}, this.ownership.fence(cmd.domain), { expiresMs: this.tokenExpiresMs(next) });
    if (!ev) throw new NotFoundError(`${cmd.domain} is not registered`);
    this.applyTrust(rec, next);
    // Every earlier token, also one past its absolute expiry or a squatter's, stops working here (sessions: 4001).
    rec.tokenHash = next.tokenHash;
    rec.tokenIssuedMs = now;
    rec.tokenActivityMs = now;
    this.events.publish(ev);
    return { recordJson: rec.replyJson(), tokenExpiresMs: this.tokenExpiresMs(rec), seq: ev.seq };
  }

  private async reissueToken(cmd: ReissueTokenCommand): Promise<ReissueReply> {
    const rec = this.ownRecord(cmd.domain);
    const now = this.clock.now();
    const expires = tokenExpiresMs({ tokenIssuedMs: now, tokenActivityMs: now }, this.policy);
    if (!(await this.store.rotateToken(cmd.domain, cmd.newTokenHash, now, expires, cmd.by, this.ownership.fence(cmd.domain), "admin.token_reissue"))) {
      throw new NotFoundError(`${cmd.domain} is not registered`);
    }
    rec.tokenHash = cmd.newTokenHash;
    rec.tokenIssuedMs = now;
    rec.tokenActivityMs = now;
    return { tokenExpiresMs: this.tokenExpiresMs(rec) };
  }

  private async evict(cmd: EvictCommand): Promise<EvictReply> {
    return this.removeRecord(this.ownRecord(cmd.domain), cmd.by, "admin.remove", cmd.reason ? { reason: cmd.reason } : {});
  }

  /** A copy to write from, so a failed write leaves memory untouched. */
  private copyOf(rec: ServerRecord): ServerRecord {
    return Object.assign(Object.create(Object.getPrototypeOf(rec)), rec) as ServerRecord;
  }

  private applyTrust(rec: ServerRecord, next: ServerRecord): void {
    this.directory.update(rec, NO_SORT_FIELD, false, () => {
      rec.verified = next.verified;
      rec.verifiedAtMs = next.verifiedAtMs;
      rec.verifiedChallenge = next.verifiedChallenge;
      rec.recordVersion = next.recordVersion;
      rec.json = null;
    });
  }

  private tokenExpiresMs(rec: ServerRecord): number {
    return tokenExpiresMs(rec, this.policy);
  }

  /**
   * The presented token hash against the stored one, in constant time. Sessions present the hash they kept from
   * identify, so a rotation (new stored hash) ends them with 4001 at their next heartbeat.
   */
  private authenticate(domain: string, tokenHash: string | null): ServerRecord {
    // A message queued before its shard moved away must be retried at the new owner, not applied here.
    this.ownership.fence(domain);
    const rec = this.directory.get(domain);
    if (rec && rec.origin !== this.settings.registrarId) throw new NotOwnerError(`${domain} belongs to registrar ${rec.origin}`);
    // Unknown domain and wrong token look the same, so auth routes do not reveal which domains exist.
    if (!rec || !hashesMatch(tokenHash, rec.tokenHash)) throw new UnauthorizedError(AUTH_MESSAGES.unauthorized);
    if (this.clock.now() >= this.tokenExpiresMs(rec)) throw new TokenExpiredError(AUTH_MESSAGES.tokenExpired);
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
      for (const r of this.expiry.admit([rec])) this.goOffline(r);
    });
  }

  /** A held record the hold let go of by time: offline now, unless it was heard from or left meanwhile. */
  private expireHeld(rec: ServerRecord): Promise<void> {
    return this.mailboxes.post(rec.domain, () => {
      if (this.directory.get(rec.domain) !== rec || rec.status !== "online" || rec.deadlineMs === 0) return;
      if (rec.deadlineMs > this.clock.now()) return; // heard from: armed again
      this.goOffline(rec);
    });
  }

  /** A held record still silent when heartbeats came back: a usual deadline, counted from now. */
  private rearmHeld(rec: ServerRecord): Promise<void> {
    return this.mailboxes.post(rec.domain, () => {
      if (this.directory.get(rec.domain) !== rec || rec.status !== "online" || rec.deadlineMs === 0) return;
      const now = this.clock.now();
      if (rec.deadlineMs > now) return;
      rec.deadlineMs = now + this.settings.offlineAfterMs;
      this.wheel.arm(rec);
    });
  }

  private goOffline(rec: ServerRecord): void {
    const now = this.clock.now();
    rec.deadlineMs = 0;
    this.directory.update(rec, NO_SORT_FIELD, false, () => {
      rec.status = "offline";
    });
    this.stats.transitions.offline++;
    this.statusSync.enqueue(rec, now);
  }
}

function unknownCommand(cmd: never): never {
  throw new Error(`unknown command ${JSON.stringify((cmd as { type?: unknown }).type)}`);
}

function sameClientFields(a: ServerRecord, b: ServerRecord): boolean {
  return JSON.stringify(a.clientFields()) === JSON.stringify(b.clientFields());
}
