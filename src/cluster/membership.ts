// Membership gossip: every node announces itself (and its load) on the cluster subject; members are the nodes
// heard from within the timeout. A node that stops says so, so the others do not wait for the timeout.
import { encode, listen, type OnDrop } from "../../transport/codec.js";
import { CLUSTER_WIRE_VERSION, MESSAGES, type MemberInfo } from "../../transport/subjects.js";
import type { Transport, Subscription } from "../../transport/transport.js";

export class Membership {
  private readonly seen = new Map<string, MemberInfo & { heardMs: number }>();
  private timer: NodeJS.Timeout | null = null;
  private sub: Subscription | null = null;

  constructor(
    private readonly transport: Transport,
    private readonly subject: string,
    private readonly nodeId: string,
    private readonly load: () => { shards: number; servers: number },
    private readonly onDrop: OnDrop,
    private readonly intervalMs = 500,
    private readonly timeoutMs = 2000,
  ) {}

  start(onChange: () => void): void {
    this.sub = listen(this.transport, this.subject, MESSAGES.gossip, this.onDrop, (info) => {
      if (info.node === this.nodeId) return;
      const known = this.seen.has(info.node);
      if (info.leaving) {
        this.seen.delete(info.node);
        onChange();
        return;
      }
      this.seen.set(info.node, { ...info, heardMs: Date.now() });
      if (!known) onChange();
    });
    this.announce();
    this.timer = setInterval(() => this.announce(), this.intervalMs);
    this.timer.unref();
  }

  /** Live members including this node, sorted. */
  members(): string[] {
    const now = Date.now();
    const out = [this.nodeId];
    for (const [node, m] of this.seen) {
      if (now - m.heardMs <= this.timeoutMs) out.push(node);
    }
    return out.sort();
  }

  /** Members for /v1/health: `at` is when each last announced itself (ISO time, contract §1). */
  details(): { node: string; shards: number; servers: number; at: string }[] {
    const now = Date.now();
    const self = { node: this.nodeId, ...this.load(), at: new Date(now).toISOString() };
    const others = [...this.seen.values()]
      .filter((m) => now - m.heardMs <= this.timeoutMs)
      .map((m) => ({ node: m.node, shards: m.shards, servers: m.servers, at: new Date(m.at).toISOString() }));
    return [self, ...others];
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    const bye: MemberInfo = { v: CLUSTER_WIRE_VERSION, node: this.nodeId, shards: 0, servers: 0, leaving: true, at: Date.now() };
    this.transport.publish(this.subject, encode(bye));
    this.sub?.unsubscribe();
  }

  private announce(): void {
    const info: MemberInfo = { v: CLUSTER_WIRE_VERSION, node: this.nodeId, ...this.load(), at: Date.now() };
    this.transport.publish(this.subject, encode(info));
  }
}
