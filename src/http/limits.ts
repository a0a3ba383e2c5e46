// The node's rate limiters: per client IP (register, rate, list, recovery), per domain (token writes, HTTP
// heartbeats, contract §10) and per rater home; local on one node, shared over the transport in a cluster so a
// limit holds for the sum over all nodes; swept every 30 s.
import type { OnDrop } from "../../transport/codec.js";
import type { Transport } from "../../transport/transport.js";
import { RateLimitReporter, SharedRateLimiter } from "../cluster/shared-rate-limit.js";
import type { Config } from "../config.js";
import { RateLimiter, type RateLimit } from "../security/rate-limit.js";

const SWEEP_MS = 30_000;

export type Limits = {
  register: RateLimiter | null;
  rate: RateLimiter | null;
  list: RateLimiter | null;
  /** RATE_LIMIT_WRITE per domain: PUT, DELETE, rotation, verification, recovery, webhooks (contract §10). */
  write: RateLimiter | null;
  /** RATE_LIMIT_HEARTBEAT per domain: HTTP heartbeats (contract §10). */
  heartbeat: RateLimiter | null;
  /** RATE_LIMIT_RECOVERY per client IP (contract §8.2). */
  recovery: RateLimiter | null;
  /** RATE_LIMIT_RATE_PER_HOME, keyed by the rater's home domain (contract §8.4). */
  ratePerHome: RateLimiter | null;
  stop(): void;
};

export type LimitDeps = {
  config: Pick<Config, "rateLimits" | "nodeId" | "trust">;
  /** Cluster mode: share counts on this subject. */
  shared: { transport: Transport; subject: string; onDrop: OnDrop } | null;
  /** What a refusal by the limit `name` calls (registrar_rate_limited_total{limit}). */
  onRefused?: (name: string) => () => void;
};

export function createLimits(d: LimitDeps): Limits {
  const reporter = d.shared ? new RateLimitReporter(d.config.nodeId, d.shared.transport, d.shared.subject) : null;
  const make = (name: string, spec: RateLimit | null): RateLimiter | null => {
    if (!spec) return null;
    const opts = { ...spec, onRefused: d.onRefused?.(name) };
    return reporter ? new SharedRateLimiter(opts, name, reporter) : new RateLimiter(opts);
  };
  const { rateLimits } = d.config;
  const limiters = {
    register: make("register", rateLimits.register), rate: make("rate", rateLimits.rate), list: make("list", rateLimits.list),
    write: make("write", rateLimits.write), heartbeat: make("heartbeat", rateLimits.heartbeat),
    recovery: make("recovery", d.config.trust.rateLimitRecovery), ratePerHome: make("rate_per_home", d.config.trust.rateLimitRatePerHome),
  };
  const active = new Map(Object.entries(limiters).filter((e): e is [string, RateLimiter] => e[1] !== null));
  const sub = d.shared ? SharedRateLimiter.listen(d.shared.transport, d.shared.subject, d.config.nodeId, active, d.shared.onDrop) : null;
  const sweeper = setInterval(() => {
    for (const l of active.values()) l.sweep();
  }, SWEEP_MS);
  sweeper.unref();
  return {
    ...limiters,
    stop() {
      clearInterval(sweeper);
      sub?.unsubscribe();
    },
  };
}
