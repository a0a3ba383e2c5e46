// Cluster-wide rate limits: each node counts locally and tells the others, whose limiters add the remote counts
// of the same wall-clock window, so a limit holds for the sum over all nodes.
import { RateLimiter, type RateLimitDecision, type RateLimiterOptions } from "../security/rate-limit.js";
import type { Transport } from "../../transport/transport.js";

type Report = { n: string; k: string; w: number; c: number; from: string };

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

  override take(key: string, cost = 1): RateLimitDecision {
    const d = super.take(key, cost);
    if (d.allowed && cost > 0) {
      const report: Report = { n: this.name, k: key, w: d.windowStartMs, c: cost, from: this.nodeId };
      this.transport.publish(this.subject, Buffer.from(JSON.stringify(report)));
    }
    return d;
  }

  /** Subscribes the given limiters to the other nodes' reports. */
  static listen(transport: Transport, subject: string, nodeId: string, limiters: Map<string, RateLimiter>): { unsubscribe(): void } {
    return transport.subscribe(subject, (data) => {
      let r: Report;
      try {
        r = JSON.parse(Buffer.from(data).toString("utf8"));
      } catch {
        return;
      }
      if (r.from === nodeId || typeof r.k !== "string" || !Number.isFinite(r.w) || !Number.isInteger(r.c)) return;
      limiters.get(r.n)?.addRemote(r.k, r.w, r.c);
    });
  }
}
