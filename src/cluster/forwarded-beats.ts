// Heartbeats for servers another node owns, coalesced per owner: one NATS request per presumed owner node and
// event-loop turn instead of one per heartbeat. The owner runs a beat only for a shard it accepts; whatever it
// could not take (shard moved, no responder, timeout) goes back to the caller to send one by one, which retries
// until the shard's new owner has it.
import { BEATS_PER_BATCH, COMMAND_WIRE_VERSION, type ActorApi, type BeatOutcome, type HeartbeatCommand, type HeartbeatReply } from "../../actors/commands.js";
import { shardOf } from "../../actors/shards.js";
import { decode, DecodeError, encode, type OnDrop } from "../../transport/codec.js";
import { MESSAGES } from "../../transport/subjects.js";
import { NoResponderError, RequestTimeoutError, type Subscription, type Transport } from "../../transport/transport.js";
import { isStoreUnavailable } from "../store/unavailable.js";
import { errorFromWire, errorToWire, RegistrarError, ShardMovedError, UnavailableError } from "../core/errors.js";

/** A beat the presumed owner did not take: send it to the shard's mailbox, one by one. */
export const FALL_BACK = Symbol("fall back");
export type Forwarded = HeartbeatReply | typeof FALL_BACK;

/**
 * Bytes the edge lets a batch grow to, counted as 3 per UTF-16 unit of each item's JSON (an upper bound of its
 * UTF-8 size), under MESSAGES.beats.maxBytes with room for the envelope.
 */
const BATCH_BYTES = MESSAGES.beats.maxBytes - 1024;

type Waiter = { resolve(r: Forwarded): void; reject(err: unknown): void };
type Batch = { items: string[]; waiters: Waiter[]; bytes: number };

export type ForwarderDeps = {
  transport: Transport;
  /** The node rendezvous hashing names for a shard among the live members (undefined: nobody). */
  presumedOwner: (shard: number) => string | undefined;
  nodeId: string;
  shards: number;
  subject: (nodeId: string) => string;
  requestTimeoutMs: number;
  /** Each batch's size, when it is sent. */
  onBatch: (size: number) => void;
  /** Each batch's round trip, when the owner answered. */
  onLatency: (seconds: number) => void;
  onDrop: OnDrop;
};

/** The edge's side: queues beats per presumed owner and sends each queue once per turn (or when full). */
export class BeatForwarder {
  private readonly queues = new Map<string, Batch>();
  private scheduled = false;
  readonly stats = { batches: 0, beats: 0, fallbacks: 0 };

  constructor(private readonly d: ForwarderDeps) {}

  /** null: this beat is not for batching (no other node is presumed to own its shard). */
  forward(shard: number, cmd: HeartbeatCommand): Promise<Forwarded> | null {
    const owner = this.d.presumedOwner(shard);
    if (owner === undefined || owner === this.d.nodeId) return null;
    const item = JSON.stringify([cmd.domain, cmd.tokenHash, cmd.stats]);
    let batch = this.queues.get(owner);
    if (batch && batch.bytes + item.length * 3 > BATCH_BYTES) {
      this.queues.delete(owner);
      void this.send(owner, batch);
      batch = undefined;
    }
    if (!batch) this.queues.set(owner, (batch = { items: [], waiters: [], bytes: 0 }));
    batch.items.push(item);
    batch.bytes += item.length * 3;
    const reply = new Promise<Forwarded>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    if (batch.items.length >= BEATS_PER_BATCH) {
      this.queues.delete(owner);
      void this.send(owner, batch);
    } else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return reply;
  }

  private flush(): void {
    this.scheduled = false;
    for (const [owner, batch] of this.queues) void this.send(owner, batch);
    this.queues.clear();
  }

  private async send(owner: string, batch: Batch): Promise<void> {
    const n = batch.items.length;
    this.stats.batches++;
    this.stats.beats += n;
    this.d.onBatch(n);
    // The items are JSON already: the envelope is joined around them rather than encoded again.
    const payload = Buffer.from(`{"v":${COMMAND_WIRE_VERSION},"beats":[${batch.items.join(",")}]}`, "utf8");
    const started = performance.now();
    let outcomes: (Forwarded | Error)[];
    try {
      const raw = await this.d.transport.request(this.d.subject(owner), payload, this.d.requestTimeoutMs);
      this.d.onLatency((performance.now() - started) / 1000);
      outcomes = this.read(raw, n);
    } catch (err) {
      // The owner went away or is not answering: every beat is sent again one by one.
      if (!(err instanceof NoResponderError || err instanceof RequestTimeoutError)) outcomes = new Array<Error>(n).fill(toError(err));
      else outcomes = new Array<Forwarded>(n).fill(FALL_BACK);
    }
    for (let i = 0; i < n; i++) {
      const o = outcomes[i];
      if (o === FALL_BACK) this.stats.fallbacks++;
      if (o instanceof Error) batch.waiters[i].reject(o);
      else batch.waiters[i].resolve(o);
    }
  }

  /** One outcome per beat: its reply, FALL_BACK, or the error to answer with (checked like a one-by-one reply). */
  private read(raw: Uint8Array, n: number): (Forwarded | Error)[] {
    let reply;
    try {
      reply = decode(MESSAGES.beatsReply.schema, raw, MESSAGES.beatsReply.maxBytes);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.d.onDrop(MESSAGES.beatsReply.kind, err.reason);
      return new Array<Error>(n).fill(unreadable(err));
    }
    // The owner could not read the batch (another version): the mailboxes can.
    if ("error" in reply) return new Array<Forwarded>(n).fill(FALL_BACK);
    if (reply.replies.length !== n) {
      this.d.onDrop(MESSAGES.beatsReply.kind, "invalid");
      return new Array<Error>(n).fill(unreadable(new Error(`${reply.replies.length} replies to ${n} beats`)));
    }
    return reply.replies.map((r) => {
      if ("ok" in r) return r.ok;
      const err = errorFromWire(r.error);
      return err instanceof ShardMovedError ? FALL_BACK : err;
    });
  }
}

export type BeatOwner = {
  /** This node's actors (fenced by shard ownership). */
  local: ActorApi;
  accepts: (shard: number) => boolean;
  shards: number;
  onDrop: OnDrop;
};

/** The owner's side: answers this node's beats subject, one outcome per beat, in order. */
export function serveBeats(transport: Transport, subject: string, o: BeatOwner): Subscription {
  return transport.serve(subject, async (data) => encode(await answerBeats(data, o)));
}

async function answerBeats(data: Uint8Array, o: BeatOwner): Promise<unknown> {
  const v = COMMAND_WIRE_VERSION;
  let beats;
  try {
    beats = decode(MESSAGES.beats.schema, data, MESSAGES.beats.maxBytes).beats;
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
    o.onDrop(MESSAGES.beats.kind, err.reason);
    return { v, error: errorToWire(new UnavailableError("the owner could not read these heartbeats; retry shortly")) };
  }
  const replies = await Promise.all(beats.map(([domain, tokenHash, stats]) => answerBeat({ type: "heartbeat", domain, tokenHash, stats }, o)));
  return { v, replies };
}

async function answerBeat(cmd: HeartbeatCommand, o: BeatOwner): Promise<BeatOutcome> {
  try {
    // A shard this node does not (or no longer) serve: the edge sends the beat to the shard's mailbox instead.
    if (!o.accepts(shardOf(cmd.domain, o.shards))) throw new ShardMovedError("this node does not own this server's shard");
    return { ok: await o.local.send(cmd) };
  } catch (err) {
    if (err instanceof RegistrarError) return { error: errorToWire(err) };
    if (isStoreUnavailable(err)) return { error: errorToWire(new UnavailableError("the directory store cannot take writes right now; retry shortly", { cause: err })) };
    throw err;
  }
}

function unreadable(cause: unknown): UnavailableError {
  return new UnavailableError("the owner's reply could not be read; retry shortly", { cause });
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
