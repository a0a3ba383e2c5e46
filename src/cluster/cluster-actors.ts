// The edge's view of the actors in cluster mode: a command for a domain runs locally when this node owns its
// shard, else goes to the owner's mailbox subject by request/reply; while a shard has no owner the command is
// kept and retried until the new owner takes it (so a heartbeat is acknowledged only once its owner has it).
// Heartbeats first try a batch to the node presumed to own their shard (forwarded-beats.ts).
import { REPLIES, COMMAND_WIRE_VERSION, type ActorApi, type ReplyEnvelope, type ReplyTo, type ServerCommand } from "../../actors/commands.js";
import { shardOf } from "../../actors/shards.js";
import { decode, DecodeError, encode, type DropReason, type OnDrop } from "../../transport/codec.js";
import { MESSAGES } from "../../transport/subjects.js";
import { NoResponderError, RequestTimeoutError, type Subscription, type Transport } from "../../transport/transport.js";
import { isStoreUnavailable } from "../store/unavailable.js";
import { errorFromWire, errorToWire, RegistrarError, ShardMovedError, UnavailableError } from "../core/errors.js";
import { FALL_BACK, type BeatForwarder } from "./forwarded-beats.js";

/**
 * Commands that replace a token. In degraded mode they would reach MySQL only, while the shard owner (still on
 * NATS) keeps the old hash in memory and goes on accepting the old token (security review M5): refused with 503.
 */
const TOKEN_CHANGES: ReadonlySet<ServerCommand["type"]> = new Set(["rotate_token", "reissue_token", "recover"]);

export type ClusterActorSettings = { shards: number; requestTimeoutMs: number; retryBudgetMs: number };

export class ClusterActors implements ActorApi {
  private readonly serving = new Map<number, Subscription>();
  readonly stats = { remote: 0, retries: 0 };

  constructor(
    private readonly local: ActorApi,
    private readonly owns: (shard: number) => boolean,
    private readonly transport: Transport,
    private readonly subject: (shard: number) => string,
    private readonly s: ClusterActorSettings,
    /** When the transport is down, commands run here against MySQL directly (degraded mode). */
    private readonly degraded: ActorApi,
    private readonly onMailboxLatency: (seconds: number) => void,
    private readonly onDrop: OnDrop,
    /** Waits until this node's directory holds the event of a write another node committed (bounded). */
    private readonly reach: (seq: number) => Promise<void> = async () => {},
    /** Coalesces heartbeats for shards other nodes own (absent: every command goes one by one). */
    private readonly beats?: BeatForwarder,
  ) {}

  send<C extends ServerCommand>(cmd: C): Promise<ReplyTo<C>> {
    return this.route(cmd);
  }

  /** Starts answering the mailbox subject of a shard this node now owns. */
  serve(shard: number): void {
    if (this.serving.has(shard)) return;
    this.serving.set(shard, this.transport.serve(this.subject(shard), async (data) => encode(await this.answer(data))));
  }

  unserve(shard: number): void {
    this.serving.get(shard)?.unsubscribe();
    this.serving.delete(shard);
  }

  /** The owner's side: only a command that decodes against its schema runs; errors go back as `{code,…}`. */
  private async answer(data: Uint8Array): Promise<ReplyEnvelope> {
    const v = COMMAND_WIRE_VERSION;
    let cmd: ServerCommand;
    try {
      cmd = decode(MESSAGES.shard.schema, data, MESSAGES.shard.maxBytes).cmd;
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.onDrop(MESSAGES.shard.kind, err.reason);
      return { v, error: errorToWire(new UnavailableError("the owner could not read this command; retry shortly")) };
    }
    try {
      return { v, ok: await this.local.send(cmd) };
    } catch (err) {
      if (err instanceof RegistrarError) return { v, error: errorToWire(err) };
      // The owner's store cannot take the write: the edge answers 503 like a local outage (contract §1).
      if (isStoreUnavailable(err)) return { v, error: errorToWire(new UnavailableError("the directory store cannot take writes right now; retry shortly", { cause: err })) };
      throw err;
    }
  }

  private async route<C extends ServerCommand>(cmd: C): Promise<ReplyTo<C>> {
    const deadline = Date.now() + this.s.retryBudgetMs;
    let payload: Uint8Array | null = null;
    for (let attempt = 0; ; attempt++) {
      const shard = shardOf(cmd.domain, this.s.shards);
      try {
        // Without NATS nobody hears anybody: every node serves every server from MySQL (degraded mode).
        if (this.transport.health() === "down") {
          if (TOKEN_CHANGES.has(cmd.type)) throw cannotChangeToken();
          return await this.degraded.send(cmd);
        }
        if (this.owns(shard)) return await this.local.send(cmd);
        // A heartbeat goes first in a batch to its presumed owner; what that owner did not take goes one by one.
        const batched = attempt === 0 && cmd.type === "heartbeat" ? this.beats?.forward(shard, cmd) : undefined;
        if (batched) {
          this.stats.remote++;
          const reply = await batched;
          if (reply !== FALL_BACK) return reply as ReplyTo<C>;
          continue;
        }
        payload ??= encode({ v: COMMAND_WIRE_VERSION, cmd });
        const started = performance.now();
        this.stats.remote++;
        const raw = await this.transport.request(this.subject(shard), payload, this.s.requestTimeoutMs);
        this.onMailboxLatency((performance.now() - started) / 1000);
        const reply = this.readReply(cmd, raw);
        // The owner committed an event: show it here before answering, so the client's next request through this
        // node finds its write (the event would reach this node a moment later anyway).
        const seq = (reply as { seq?: unknown }).seq;
        if (typeof seq === "number" && seq > 0) await this.reach(seq);
        return reply;
      } catch (err) {
        const retryable = err instanceof ShardMovedError || err instanceof NoResponderError || err instanceof RequestTimeoutError;
        if (!retryable) throw err;
        if (Date.now() >= deadline) throw new UnavailableError("no registrar node owns this server right now; retry shortly", { cause: err });
        this.stats.retries++;
        await new Promise((r) => setTimeout(r, Math.min(25 * 2 ** Math.min(attempt, 3), 200)));
      }
    }
  }

  /** The owner's reply, checked against the command's reply schema; an error comes back as its real class. */
  private readReply<C extends ServerCommand>(cmd: C, raw: Uint8Array): ReplyTo<C> {
    let reply: ReplyEnvelope;
    try {
      reply = decode(MESSAGES.shardReply.schema, raw, MESSAGES.shardReply.maxBytes);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      throw this.unreadable(err.reason, err);
    }
    if ("error" in reply) throw errorFromWire(reply.error);
    const ok = REPLIES[cmd.type].safeParse(reply.ok);
    if (!ok.success) throw this.unreadable("invalid", ok.error);
    return ok.data as ReplyTo<C>;
  }

  private unreadable(reason: DropReason, cause: unknown): UnavailableError {
    this.onDrop(MESSAGES.shardReply.kind, reason);
    return new UnavailableError("the owner's reply could not be read; retry shortly", { cause });
  }
}

function cannotChangeToken(): UnavailableError {
  const err = new UnavailableError("this node cannot reach the cluster to change a token; retry shortly (or through another node)");
  err.headers = [["Retry-After", "1"]];
  return err;
}
