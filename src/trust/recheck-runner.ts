// Periodic re-checks of watched proofs (contract §8.1 "Re-check", §8.6): fetch due documents off the request path,
// refresh keys on success, and turn `verified` false once a proof has been missing longer than the grace.
import type { CheckResult, DueCheck } from "./checks-repo.js";
import type { ProofOutcome } from "./proof.js";
import { decideRecheck, type RecheckTiming } from "./recheck-policy.js";

export const RECHECK_DEFAULTS = {
  /** Due rows read per round; rows owned by other nodes are skipped, so this is generous. */
  batch: 1000,
  /** Checks of one round in flight at once (the fetcher bounds the node's fetches anyway). */
  parallel: 8,
  minPollMs: 250,
  /** A mirrored record with a new challenge is due at once (§8.6), so due rows are read at least this often; the
   * query is one indexed range read per node. */
  maxPollMs: 2_000,
} as const;

export interface RecheckPorts {
  checks: {
    due(nowMs: number, limit: number): Promise<DueCheck[]>;
    record(domain: string, origin: string, r: CheckResult): Promise<void>;
    unwatch(domain: string, origin: string | null): Promise<void>;
  };
  /** One proof attempt for the record (domain, origin) with its standing challenge; null when there is nothing to
   * check any more (the record or its challenge is gone), and the watch is dropped. */
  attempt(domain: string, origin: string): Promise<ProofOutcome | null>;
  /** Cluster mode: this node checks only the domains whose shard it owns, so each domain is checked by one node. */
  owns(domain: string): boolean;
  /** The document proved the challenge again: keep its keys; a lapsed record becomes verified again. */
  proved(domain: string, origin: string, outcome: Extract<ProofOutcome, { ok: true }>): Promise<void>;
  /** The grace is over: `verified` turns false (event and audit row). Called again at later failed checks, so it
   * must do nothing when the record is already unverified. */
  lapsed(domain: string, origin: string, outcome: Extract<ProofOutcome, { ok: false }>): Promise<void>;
  onError(err: unknown): void;
  now?: () => number;
}

export class RecheckRunner {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  readonly pollMs: number;
  readonly stats = { checked: 0, failed: 0, lapsed: 0 };

  constructor(
    private readonly p: RecheckPorts,
    private readonly timing: RecheckTiming,
  ) {
    this.pollMs = Math.min(RECHECK_DEFAULTS.maxPollMs, Math.max(RECHECK_DEFAULTS.minPollMs, Math.round(timing.recheckIntervalMs / 4)));
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => void this.round(), this.pollMs);
    this.timer.unref();
  }

  /** Waits for the round in progress; no new one starts. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One round (rounds never overlap); resolves when its checks are done. */
  round(): Promise<void> {
    if (this.running || this.stopped) return this.running ?? Promise.resolve();
    this.running = this.runRound()
      .catch((err) => this.p.onError(err))
      .finally(() => (this.running = null));
    return this.running;
  }

  private async runRound(): Promise<void> {
    const now = this.p.now ?? Date.now;
    const due = (await this.p.checks.due(now(), RECHECK_DEFAULTS.batch)).filter((c) => this.p.owns(c.domain));
    let next = 0;
    const worker = async () => {
      while (next < due.length && !this.stopped) {
        const c = due[next++];
        try {
          await this.checkOne(c, now);
        } catch (err) {
          this.p.onError(err);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(RECHECK_DEFAULTS.parallel, due.length) }, worker));
  }

  private async checkOne(c: DueCheck, now: () => number): Promise<void> {
    const outcome = await this.p.attempt(c.domain, c.origin);
    if (!outcome) return this.p.checks.unwatch(c.domain, c.origin);
    this.stats.checked++;
    const at = now();
    const d = decideRecheck(c, outcome.ok, at, this.timing);
    if (outcome.ok) await this.p.proved(c.domain, c.origin, outcome);
    else {
      this.stats.failed++;
      if (d.lapsed) {
        this.stats.lapsed++;
        await this.p.lapsed(c.domain, c.origin, outcome);
      }
    }
    await this.p.checks.record(c.domain, c.origin, {
      nowMs: at,
      ok: outcome.ok,
      reason: outcome.ok ? null : outcome.reason,
      firstFailureAtMs: d.firstFailureAtMs,
      nextCheckAtMs: d.nextCheckAtMs,
    });
  }
}
