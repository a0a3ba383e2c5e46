// Live changes from peers: one subscription per peer subject, a size check before parsing, a per-peer budget of
// changes per second, schema validation, the trust rule per change; gaps and drops ask for anti-entropy.
import { fedSubjects } from "../../transport/subjects.js";
import type { Subscription, Transport } from "../../transport/transport.js";
import type { Incoming } from "./mirror-store.js";
import { refusal, type TrustPolicy } from "./trust.js";
import { ChangesMessage, decode, DecodeError } from "./wire.js";

export type ReceiverDeps = {
  transport: Transport;
  policy: TrustPolicy;
  peers: readonly string[];
  maxBytes: number;
  maxChangesPerS: number;
  /** Queues accepted changes for the apply loop; false when its queue is full. */
  deliver(items: Incoming[], peer: string): boolean;
  /** Something may have been missed from this peer: run anti-entropy with it soon. */
  needSync(peer: string, why: string): void;
  /** A message or change was refused; `count` changes (or 1 message) were lost. */
  dropped(reason: string, peer: string, detail: string, count: number): void;
  /** Changes refused by design in a mesh (echoes, relays of direct peers): counted, not logged. */
  ignored(reason: string, count: number): void;
  received(peer: string, changes: number): void;
};

type Budget = { tokens: number; atMs: number };

export class LiveReceiver {
  private subs: Subscription[] = [];
  private readonly budgets = new Map<string, Budget>();
  private readonly lastSeen = new Map<string, { pub: string; n: number }>();

  constructor(private readonly d: ReceiverDeps) {}

  start(): void {
    for (const peer of this.d.peers) {
      const s = fedSubjects(peer);
      this.subs.push(this.d.transport.subscribe(s.changes, (data, subject) => this.handle(peer, "changes", data, subject)));
      this.subs.push(this.d.transport.subscribe(s.relay(this.d.policy.self), (data, subject) => this.handle(peer, "relay", data, subject)));
    }
  }

  stop(): void {
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    this.lastSeen.clear();
  }

  private handle(peer: string, channel: "changes" | "relay", data: Uint8Array, subject: string): void {
    // One token per message before any parsing, so a flood of garbage costs little and is cut off quickly.
    if (!this.take(peer, 1)) {
      this.d.dropped("rate_limited", peer, `over FED_MAX_CHANGES_PER_S=${this.d.maxChangesPerS}`, 1);
      this.d.needSync(peer, "rate limited");
      return;
    }
    let msg: ChangesMessage;
    try {
      msg = decode(ChangesMessage, data, this.d.maxBytes);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      this.d.dropped(err.reason, peer, err.message, 1);
      return;
    }
    if (msg.from !== peer || (channel === "relay" ? msg.to !== this.d.policy.self : msg.to !== undefined)) {
      this.d.dropped("wrong_sender", peer, `message from ${msg.from} to ${msg.to ?? "all"} on ${subject}`, msg.changes.length || 1);
      return;
    }
    this.charge(peer, msg.changes.length - 1);
    const last = this.lastSeen.get(subject);
    if (!last || last.pub !== msg.pub || msg.n !== last.n + 1) this.d.needSync(peer, last ? (last.pub !== msg.pub ? "new publisher" : "gap") : "first message");
    this.lastSeen.set(subject, { pub: msg.pub, n: msg.n });
    const accepted: Incoming[] = [];
    for (const change of msg.changes) {
      const why = refusal(change, peer, channel, this.d.policy);
      if (why === null) accepted.push({ change, via: peer, live: true });
      else if (why === "own_origin" || why === "first_hand_only") this.d.ignored(why, 1);
      else this.d.dropped(why, peer, `${change.domain} of ${change.origin} on ${subject}`, 1);
    }
    if (accepted.length === 0) return;
    this.d.received(peer, accepted.length);
    if (!this.d.deliver(accepted, peer)) {
      this.d.dropped("queue_full", peer, "apply queue full", accepted.length);
      this.d.needSync(peer, "queue full");
    }
  }

  // Token bucket per peer: FED_MAX_CHANGES_PER_S per second, bursts up to one second's worth.
  private refill(peer: string): Budget {
    const now = Date.now();
    let b = this.budgets.get(peer);
    if (!b) this.budgets.set(peer, (b = { tokens: this.d.maxChangesPerS, atMs: now }));
    b.tokens = Math.min(this.d.maxChangesPerS, b.tokens + ((now - b.atMs) / 1000) * this.d.maxChangesPerS);
    b.atMs = now;
    return b;
  }

  private take(peer: string, n: number): boolean {
    const b = this.refill(peer);
    if (b.tokens < n) return false;
    b.tokens -= n;
    return true;
  }

  /** A valid message's remaining changes: charged even into debt, so the next messages wait for the refill. */
  private charge(peer: string, n: number): void {
    if (n > 0) this.refill(peer).tokens -= n;
  }
}
