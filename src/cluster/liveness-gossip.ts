// Heartbeat soft state (last_seen, counts, version) from each shard owner to every node, batched every 100 ms,
// so listings on every node are current without a MySQL read and a new owner starts from the freshest liveness.
import type { LivenessSink } from "../../actors/ports.js";
import type { ServerRecord } from "../../actors/server-record.js";
import type { Subscription, Transport } from "../../transport/transport.js";
import type { Directory } from "../directory/directory.js";

type Beat = [domain: string, lastSeenMs: number, userCount: number, channelCount: number, version: string | null];
const LIVENESS_FIELDS = 16 | 1 | 2;

export class LivenessGossip implements LivenessSink {
  private dirty = new Set<ServerRecord>();
  private timer: NodeJS.Timeout | null = null;
  private sub: Subscription | null = null;

  constructor(
    private readonly transport: Transport,
    private readonly subject: string,
    private readonly directory: Directory,
    private readonly ownsDomain: (domain: string) => boolean,
    private readonly intervalMs = 100,
  ) {}

  markDirty(rec: ServerRecord): void {
    this.dirty.add(rec);
  }

  start(): void {
    this.sub = this.transport.subscribe(this.subject, (data) => this.apply(data));
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
    for (let i = 0; i < batch.length; i += 2000) {
      this.transport.publish(this.subject, Buffer.from(JSON.stringify(batch.slice(i, i + 2000))));
    }
  }

  private apply(data: Uint8Array): void {
    let batch: Beat[];
    try {
      batch = JSON.parse(Buffer.from(data).toString("utf8"));
    } catch {
      return;
    }
    if (!Array.isArray(batch)) return;
    for (const b of batch) {
      if (!Array.isArray(b) || typeof b[0] !== "string") continue;
      const rec = this.directory.get(b[0]);
      if (!rec || this.ownsDomain(rec.domain) || b[1] <= rec.lastSeenMs) continue;
      this.directory.update(rec, LIVENESS_FIELDS, false, () => {
        rec.lastSeenMs = b[1];
        rec.userCount = b[2];
        rec.channelCount = b[3];
        rec.version = b[4];
      });
    }
  }
}
