// Heartbeat soft state (last_seen, counts, version) from each shard owner to every node, batched every 100 ms,
// so listings on every node are current without a MySQL read and a new owner starts from the freshest liveness.
import type { LivenessSink } from "../../actors/ports.js";
import { SORT_FIELD, type FieldMask, type ServerRecord } from "../core/record.js";
import { encode, listen, type OnDrop } from "../../transport/codec.js";
import { CLUSTER_WIRE_VERSION, LIVENESS_BATCH, MESSAGES, type Beat } from "../../transport/subjects.js";
import type { Subscription, Transport } from "../../transport/transport.js";
import type { Directory } from "../directory/directory.js";

export class LivenessGossip implements LivenessSink {
  private dirty = new Set<ServerRecord>();
  private timer: NodeJS.Timeout | null = null;
  private sub: Subscription | null = null;

  constructor(
    private readonly transport: Transport,
    private readonly subject: string,
    private readonly directory: Directory,
    private readonly ownsDomain: (domain: string) => boolean,
    private readonly onDrop: OnDrop,
    private readonly intervalMs = 100,
  ) {}

  markDirty(rec: ServerRecord): void {
    this.dirty.add(rec);
  }

  start(): void {
    this.sub = listen(this.transport, this.subject, MESSAGES.liveness, this.onDrop, (msg) => this.apply(msg.beats));
    this.timer = setInterval(() => this.flush(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.flush();
    this.sub?.unsubscribe();
  }

  /** Publishes everything pending now (also before a shard is handed over). */
  flush(): void {
    if (this.dirty.size === 0) return;
    const batch: Beat[] = [];
    for (const r of this.dirty) batch.push([r.domain, r.lastSeenMs, r.userCount, r.channelCount, r.version]);
    this.dirty = new Set();
    for (let i = 0; i < batch.length; i += LIVENESS_BATCH) {
      this.transport.publish(this.subject, encode({ v: CLUSTER_WIRE_VERSION, beats: batch.slice(i, i + LIVENESS_BATCH) }));
    }
  }

  private apply(beats: Beat[]): void {
    for (const b of beats) {
      const rec = this.directory.get(b[0]);
      if (!rec || this.ownsDomain(rec.domain) || b[1] <= rec.lastSeenMs) continue;
      // Only the sort keys that really move, like the owner's heartbeat: every index a beat touches is a B-tree
      // remove and add on each of the other nodes.
      let fields: FieldMask = SORT_FIELD.last_seen;
      if (b[2] !== rec.userCount) fields |= SORT_FIELD.users;
      if (b[3] !== rec.channelCount) fields |= SORT_FIELD.channels;
      this.directory.update(rec, fields, false, () => {
        rec.lastSeenMs = b[1];
        rec.userCount = b[2];
        rec.channelCount = b[3];
        rec.version = b[4];
      });
    }
  }
}
