// Persists status transitions in batches (one transaction, one event per change), then publishes them; retries
// while the store is down so that a transition decided by a timer or heartbeat is never lost. Each change keeps the
// instant it was decided: that is its event's `at`, however long the batch before it took.
import type { EventSink, Fence, ServerStore } from "./ports.js";
import type { ServerRecord } from "../src/core/record.js";

// One transaction per batch, as big as the backlog up to BATCH: at 100,000 deadlines over 10 s a batch costs ~10 ms
// plus ~60 µs per row in MariaDB (events with their federation trigger, the uptime rollup, the status rows), so
// 500-row batches fell behind the 10,000/s deadline rate once issue 12 added the rollup; bigger batches spread the
// fixed part and catch up (docs/benchmarks.md). A small backlog still goes at once, in a small batch.
const BATCH = 2000;
const RETRY_MS = [100, 250, 500, 1000, 2000];

export class StatusSync {
  /** Record → when its latest transition was decided (ms). */
  private readonly pending = new Map<ServerRecord, number>();
  private running = false;
  private failures = 0;

  constructor(
    private readonly store: ServerStore,
    private readonly sink: EventSink,
    private readonly onError: (err: unknown) => void,
    /** The write fence for a record; null when this node no longer owns it (its new owner decides). */
    private readonly fenceOf: (rec: ServerRecord) => Fence | undefined | null = () => undefined,
  ) {}

  get backlog(): number {
    return this.pending.size;
  }

  /** The record's in-memory status changed at `atMs` and differs from the persisted one; persist it soon. */
  enqueue(rec: ServerRecord, atMs: number): void {
    this.pending.set(rec, atMs);
    if (!this.running) void this.run();
  }

  forget(rec: ServerRecord): void {
    this.pending.delete(rec);
  }

  async flush(): Promise<void> {
    if (this.running) await new Promise<void>((r) => this.waiters.push(r));
    if (this.pending.size > 0) await this.run();
  }

  private waiters: (() => void)[] = [];

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.pending.size > 0) {
        const batch: [ServerRecord, number][] = [];
        for (const entry of this.pending) {
          batch.push(entry);
          if (batch.length === BATCH) break;
        }
        for (const [rec] of batch) this.pending.delete(rec);
        const changes = [];
        for (const [r, atMs] of batch) {
          if (r.status === r.persistedStatus) continue;
          const fence = this.fenceOf(r);
          if (fence === null) continue;
          changes.push({ domain: r.domain, status: r.status, lastSeenMs: r.lastSeenMs, atMs, fence });
        }
        if (changes.length === 0) continue;
        try {
          const events = await this.store.persistStatuses(changes);
          this.failures = 0;
          const byDomain = new Map(batch.map(([r]) => [r.domain, r]));
          for (const c of changes) {
            const rec = byDomain.get(c.domain)!;
            rec.persistedStatus = c.status;
            // A newer transition may have happened while this one was in flight (then it is pending already).
            if (rec.status !== rec.persistedStatus && !this.pending.has(rec)) this.pending.set(rec, c.atMs);
          }
          for (const ev of events) this.sink.publish(ev);
        } catch (err) {
          // Back in, unless a newer transition of the same record is pending already.
          for (const [rec, atMs] of batch) if (!this.pending.has(rec)) this.pending.set(rec, atMs);
          this.onError(err);
          await sleep(RETRY_MS[Math.min(this.failures++, RETRY_MS.length - 1)]);
        }
      }
    } finally {
      this.running = false;
      for (const w of this.waiters.splice(0)) w();
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref?.());
