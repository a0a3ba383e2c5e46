// Cluster-wide rate limits: each node counts locally and tells the others, whose limiters add the remote counts
// of the same wall-clock window, so a limit holds for the sum over all nodes. A node sends what it counted in one
// event-loop turn as one message: one per request would be a broadcast per heartbeat and per listing, which every
// node decodes, so adding nodes would add work to each.
import { RateLimiter, type RateLimitDecision, type RateLimiterOptions } from "../security/rate-limit.js";
import { encode, listen, type OnDrop } from "../../transport/codec.js";
import { CLUSTER_WIRE_VERSION, MESSAGES, RATE_LIMIT_BATCH, type RateLimitCount } from "../../transport/subjects.js";
import type { Transport } from "../../transport/transport.js";

/** Sums the counts of one turn per (limiter, key, window) and publishes them together. */
export class RateLimitReporter {
  private pending = new Map<string, RateLimitCount>();
  private scheduled = false;

  constructor(
    private readonly nodeId: string,
    private readonly transport: Transport,
    private readonly subject: string,
  ) {}

  add(name: string, key: string, windowStartMs: number, cost: number): void {
    const id = `${name}\n${windowStartMs}\n${key}`;
    const counted = this.pending.get(id);
    if (counted) counted[3] += cost;
    else this.pending.set(id, [name, key, windowStartMs, cost]);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.pending.size === 0) return;
    const counts = [...this.pending.values()];
    this.pending = new Map();
    for (let i = 0; i < counts.length; i += RATE_LIMIT_BATCH) {
      this.transport.publish(this.subject, encode({ v: CLUSTER_WIRE_VERSION, from: this.nodeId, counts: counts.slice(i, i + RATE_LIMIT_BATCH) }));
    }
  }
}

export class SharedRateLimiter extends RateLimiter {
  constructor(
    opts: RateLimiterOptions,
    private readonly name: string,
    private readonly reporter: RateLimitReporter,
  ) {
    super(opts);
  }

  // Only what counts for good is reported: a cancelled reservation stays on this node and is given back here.
  protected override committed(key: string, d: RateLimitDecision, cost: number): void {
    this.reporter.add(this.name, key, d.windowStartMs, cost);
  }

  /** Subscribes the given limiters to the other nodes' reports. */
  static listen(transport: Transport, subject: string, nodeId: string, limiters: Map<string, RateLimiter>, onDrop: OnDrop): { unsubscribe(): void } {
    return listen(transport, subject, MESSAGES.rateLimits, onDrop, (r) => {
      if (r.from === nodeId) return;
      if ("counts" in r) for (const [n, k, w, c] of r.counts) limiters.get(n)?.addRemote(k, w, c);
      else limiters.get(r.n)?.addRemote(r.k, r.w, r.c);
    });
  }
}
