// Cluster-wide rate limits: each node counts locally and tells the others, whose limiters add the remote counts
// of the same wall-clock window, so a limit holds for the sum over all nodes.
import { RateLimiter, type RateLimitDecision, type RateLimiterOptions } from "../security/rate-limit.js";
import { encode, listen, type OnDrop } from "../../transport/codec.js";
import { CLUSTER_WIRE_VERSION, MESSAGES, type RateLimitReport } from "../../transport/subjects.js";
import type { Transport } from "../../transport/transport.js";

export class SharedRateLimiter extends RateLimiter {
  constructor(
    opts: RateLimiterOptions,
    private readonly name: string,
    private readonly nodeId: string,
    private readonly transport: Transport,
    private readonly subject: string,
  ) {
    super(opts);
  }

  // Only what counts for good is reported: a cancelled reservation stays on this node and is given back here.
  protected override committed(key: string, d: RateLimitDecision, cost: number): void {
    const report: RateLimitReport = { v: CLUSTER_WIRE_VERSION, n: this.name, k: key, w: d.windowStartMs, c: cost, from: this.nodeId };
    this.transport.publish(this.subject, encode(report));
  }

  /** Subscribes the given limiters to the other nodes' reports. */
  static listen(transport: Transport, subject: string, nodeId: string, limiters: Map<string, RateLimiter>, onDrop: OnDrop): { unsubscribe(): void } {
    return listen(transport, subject, MESSAGES.rateLimits, onDrop, (r) => {
      if (r.from === nodeId) return;
      limiters.get(r.n)?.addRemote(r.k, r.w, r.c);
    });
  }
}
