// The one queue through which every mirrored change reaches MySQL: bounded, applied in batches, one at a time.
import type { Incoming } from "./mirror-store.js";

export class ApplyQueue {
  private items: Incoming[] = [];
  private running: Promise<void> | null = null;
  private waiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly limit: number,
    private readonly batchSize: number,
    /** Must not throw: it handles its own errors (a failed batch is refetched by anti-entropy). */
    private readonly run: (batch: Incoming[]) => Promise<void>,
  ) {}

  get length(): number {
    return this.items.length;
  }

  /** Live changes: refused (false) when the queue is full; anti-entropy will fetch them later. */
  offer(items: Incoming[]): boolean {
    if (this.closed || this.items.length + items.length > this.limit) return false;
    for (const i of items) this.items.push(i);
    this.kick();
    return true;
  }

  /** Anti-entropy: waits for room instead of dropping. */
  async put(items: Incoming[]): Promise<void> {
    while (!this.closed && this.items.length > this.limit / 2) await new Promise<void>((r) => this.waiters.push(r));
    if (this.closed) return;
    for (const i of items) this.items.push(i);
    this.kick();
  }

  /** Resolves when everything queued so far is applied. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Drops what is queued, lets the batch in flight finish. */
  async close(): Promise<void> {
    this.closed = true;
    this.items = [];
    this.wake();
    await this.idle();
  }

  private kick(): void {
    if (this.running) return;
    this.running = (async () => {
      try {
        while (this.items.length > 0) {
          const batch = this.items.splice(0, this.batchSize);
          this.wake();
          await this.run(batch);
        }
      } finally {
        this.running = null;
        this.wake();
      }
    })();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}
