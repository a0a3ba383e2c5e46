// Outgoing federation messages: this registrar's own changes on its `changes` subject and the changes it mirrors
// relayed to each peer not already on their path, batched per tick into messages under the size bound.
import { randomBytes } from "node:crypto";
import { fedSubjects } from "../../transport/subjects.js";
import type { Transport } from "../../transport/transport.js";
import { MAX_CHANGES_PER_MESSAGE, WIRE_VERSION, type FedChange } from "./wire.js";

type Outbox = { to: string | undefined; parts: string[]; bytes: number };

export class ChangePublisher {
  /** A new epoch per publisher start: receivers that see it change run anti-entropy (they may have missed changes). */
  readonly epoch = randomBytes(8).toString("hex");
  private readonly counters = new Map<string, number>();
  private readonly outboxes = new Map<string, Outbox>();
  private scheduled = false;
  private readonly subj;

  constructor(
    private readonly transport: Transport,
    private readonly self: string,
    private readonly peers: readonly string[],
    private readonly maxBytes: number,
    private readonly onSent: (messages: number, bytes: number) => void,
  ) {
    this.subj = fedSubjects(self);
  }

  /** A change of one of this registrar's own records, in seq order. */
  own(change: FedChange): void {
    this.enqueue(this.subj.changes, undefined, change);
  }

  /** A change this registrar mirrored: to every peer that is neither its origin nor on its path. */
  relay(change: FedChange, path: string[]): void {
    for (const peer of this.peers) {
      if (peer === change.origin || path.includes(peer)) continue;
      this.enqueue(this.subj.relay(peer), peer, { ...change, path });
    }
  }

  private enqueue(subject: string, to: string | undefined, change: FedChange): void {
    let box = this.outboxes.get(subject);
    if (!box) this.outboxes.set(subject, (box = { to, parts: [], bytes: 0 }));
    const json = JSON.stringify(change);
    // Leave room for the envelope; a single change is at most ~15 KiB (contract §2 field limits).
    if (box.parts.length >= MAX_CHANGES_PER_MESSAGE || box.bytes + json.length + 1 > this.maxBytes - 512) this.send(subject, box);
    box.parts.push(json);
    box.bytes += Buffer.byteLength(json) + 1;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Sends everything queued now. */
  flush(): void {
    this.scheduled = false;
    for (const [subject, box] of this.outboxes) if (box.parts.length > 0) this.send(subject, box);
  }

  private send(subject: string, box: Outbox): void {
    const n = (this.counters.get(subject) ?? 0) + 1;
    this.counters.set(subject, n);
    const head = JSON.stringify({ v: WIRE_VERSION, from: this.self, ...(box.to ? { to: box.to } : {}), pub: this.epoch, n });
    const body = `${head.slice(0, -1)},"changes":[${box.parts.join(",")}]}`;
    const data = Buffer.from(body, "utf8");
    this.transport.publish(subject, data);
    this.onSent(1, data.byteLength);
    box.parts = [];
    box.bytes = 0;
  }
}
