// The delivery worker of one node: claims due deliveries under a lease, sends them, records the outcome and the
// next attempt (exponential backoff with full jitter) or gives up. Several nodes run one each on the same tables.
import { nextAttemptDelayMs, type RetryPolicy } from "./backoff.js";
import type { ClaimedDelivery, DeliveriesRepo, Outcome } from "./deliveries-repo.js";
import type { SecretBox } from "./secrets.js";
import type { AttemptResult, WebhookSender } from "./sender.js";

export type WorkerOptions = RetryPolicy & {
  nodeId: string;
  /** Deliveries in flight at once on this node. */
  concurrency: number;
  /** How often to look for due deliveries enqueued or rescheduled by other nodes. */
  pollMs: number;
  /** Longer than one attempt can take (DNS + request timeout), so a live node never loses its claim. */
  leaseMs: number;
  /** Finished deliveries are kept this long for GET …/deliveries. */
  retentionMs: number;
};

export type WorkerHooks = {
  onOutcome?: (kind: Outcome["kind"], seconds: number) => void;
  /** A webhook kept timing out and is paused until `pausedUntil` (logged and counted by the node). */
  onPaused?: (p: { webhookId: string; domain: string; pausedUntil: Date; timeouts: number; pauses: number }) => void;
  onError: (err: unknown) => void;
};

const PRUNE_EVERY_MS = 3_600_000;

export class DeliveryWorker {
  private readonly inFlight = new Map<number, { claim: ClaimedDelivery; abort: AbortController; done: Promise<void> }>();
  private pollTimer: NodeJS.Timeout | null = null;
  private wakeTimer: NodeJS.Timeout | null = null;
  private wakeAtMs = Infinity;
  private claiming = false;
  private again = false;
  private stopped = true;
  private lastPruneMs = 0;

  constructor(
    private readonly repo: DeliveriesRepo,
    private readonly sender: WebhookSender,
    private readonly box: SecretBox,
    private readonly opts: WorkerOptions,
    private readonly hooks: WorkerHooks,
  ) {}

  get busy(): number {
    return this.inFlight.size;
  }

  start(): void {
    this.stopped = false;
    this.lastPruneMs = Date.now() - PRUNE_EVERY_MS + 60_000; // first prune a minute after start
    this.pollTimer = setInterval(() => this.kick(), this.opts.pollMs);
    this.pollTimer.unref();
    this.kick();
  }

  /** Look for due work now (new deliveries were enqueued). */
  kick(): void {
    if (this.stopped) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    void this.claimRound();
  }

  /**
   * Stops claiming and waits for attempts in flight until `graceMs`, then aborts the rest and gives their claims
   * back uncounted, so another node (or this one after a restart) retries them without waiting for the lease.
   */
  async stop(graceMs = 3000): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    const all = Promise.all([...this.inFlight.values()].map((f) => f.done));
    const timer = new Promise<void>((r) => setTimeout(r, graceMs).unref());
    await Promise.race([all, timer]);
    const left = [...this.inFlight.values()];
    for (const f of left) f.abort.abort();
    await Promise.all(left.map((f) => f.done));
    await this.repo.release(left.map((f) => f.claim)).catch(this.hooks.onError);
  }

  private async claimRound(): Promise<void> {
    this.claiming = true;
    try {
      do {
        this.again = false;
        const free = this.opts.concurrency - this.inFlight.size;
        if (free <= 0 || this.stopped) break;
        const claims = await this.repo.claim(this.opts.nodeId, free, this.opts.leaseMs);
        if (this.stopped) {
          await this.repo.release(claims);
          break;
        }
        for (const c of claims) this.begin(c);
        // A full batch suggests more are due.
        if (claims.length === free) this.again = true;
      } while (this.again && !this.stopped);
      await this.maybePrune();
    } catch (err) {
      this.hooks.onError(err);
    } finally {
      this.claiming = false;
    }
  }

  private begin(c: ClaimedDelivery): void {
    const abort = new AbortController();
    const done = this.attempt(c, abort.signal)
      .catch(this.hooks.onError)
      .finally(() => {
        this.inFlight.delete(c.id);
        // A slot is free: there may be due work waiting for it.
        this.kick();
      });
    this.inFlight.set(c.id, { claim: c, abort, done });
  }

  private async attempt(c: ClaimedDelivery, signal: AbortSignal): Promise<void> {
    let result: AttemptResult;
    try {
      const secret = this.box.open(c.storedSecret, c.webhookId);
      result = await this.sender.send({ url: c.url, secret, body: c.payload, eventType: c.eventType, deliveryId: c.id, seq: c.seq }, signal);
    } catch (err) {
      result = { ok: false, statusCode: null, error: (err as Error).message, durationMs: 0, timedOut: false };
    }
    // Shut down mid-request: the claim is released by stop(), the attempt is not counted.
    if (signal.aborted) return;
    const outcome = this.outcomeOf(c, result);
    this.hooks.onOutcome?.(outcome.kind, result.durationMs / 1000);
    // A receiver that holds slots until the time limit, again and again, is paused (docs/webhooks.md, fairness).
    // Recorded while this row is still claimed, so no other attempt of the webhook starts before the pause.
    if (result.timedOut) {
      const paused = await this.repo.recordTimeout(c.webhookId);
      if (paused) this.hooks.onPaused?.({ webhookId: c.webhookId, domain: c.domain, ...paused });
    } else if (result.statusCode !== null) {
      await this.repo.recordAnswer(c.webhookId);
    }
    await this.repo.complete(c, this.opts.nodeId, outcome);
    if (outcome.kind === "retry") this.wakeIn(outcome.delayMs);
  }

  private outcomeOf(c: ClaimedDelivery, r: AttemptResult): Outcome {
    if (r.ok) return { kind: "succeeded", statusCode: r.statusCode!, durationMs: r.durationMs };
    const delayMs = nextAttemptDelayMs(c.attempts + 1, c.ageMs + r.durationMs, this.opts);
    if (delayMs === null) return { kind: "failed", statusCode: r.statusCode, error: r.error, durationMs: r.durationMs };
    return { kind: "retry", statusCode: r.statusCode, error: r.error, durationMs: r.durationMs, delayMs };
  }

  /** Retries due sooner than the next poll get their own wake-up, so short backoffs are honoured. */
  private wakeIn(ms: number): void {
    if (ms >= this.opts.pollMs || this.stopped) return;
    const at = Date.now() + ms;
    if (at >= this.wakeAtMs) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeAtMs = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      this.wakeAtMs = Infinity;
      this.kick();
    }, ms + 5);
    this.wakeTimer.unref();
  }

  private async maybePrune(): Promise<void> {
    if (Date.now() - this.lastPruneMs < PRUNE_EVERY_MS) return;
    this.lastPruneMs = Date.now();
    await this.repo.prune(Date.now() - this.opts.retentionMs);
  }
}
