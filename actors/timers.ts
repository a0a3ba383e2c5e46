// Offline deadlines as data: a hashed timer wheel of records by deadline, O(1) per heartbeat, one interval for all.
import type { Clock } from "./clock.js";

export interface Timed {
  deadlineMs: number;
  timerBucket: number;
}

export class DeadlineWheel<T extends Timed> {
  private readonly buckets = new Map<number, T[]>();
  private lastTick: number;
  private ticker: { stop(): void } | null = null;
  private pending = 0;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (item: T) => void,
    // A deadline fires about one tick after it passed (its bucket rounds up, the tick has its own phase); a tick
    // visits only the buckets due, so a short one costs little.
    private readonly tickMs = 5,
  ) {
    this.lastTick = Math.floor(clock.now() / tickMs);
  }

  start(): void {
    this.ticker ??= this.clock.every(this.tickMs, () => this.tick());
  }

  stop(): void {
    this.ticker?.stop();
    this.ticker = null;
  }

  get size(): number {
    return this.pending;
  }

  /**
   * Arms item at item.deadlineMs. An item already waiting in an earlier bucket stays there and is moved when that
   * bucket comes due, so a heartbeat that only pushes the deadline later costs no bucket move at all.
   */
  arm(item: T): void {
    if (item.deadlineMs <= 0) return;
    if (item.timerBucket !== 0) {
      if (this.bucketFor(item.deadlineMs) >= item.timerBucket) return;
      // An earlier deadline (e.g. disarm, then arm again) must not wait for the old bucket: move it now and
      // leave the old slot stale (tick skips slots whose bucket no longer matches).
      this.pending--;
    }
    this.put(item);
  }

  /** Cancels by clearing the deadline; the stale bucket slot is skipped when it comes due. */
  disarm(item: T): void {
    item.deadlineMs = 0;
  }

  tick(): void {
    const now = this.clock.now();
    const target = Math.floor(now / this.tickMs);
    if (target - this.lastTick > this.buckets.size) {
      // After a stall or a clock jump most buckets in the gap are empty: visit only those that exist
      // (a one-year jump would otherwise walk 1.26 billion buckets in one tick).
      const due = [...this.buckets.keys()].filter((b) => b <= target).sort((x, y) => x - y);
      for (const b of due) this.fireBucket(b, now);
    } else {
      for (let b = this.lastTick; b <= target; b++) this.fireBucket(b, now);
    }
    this.lastTick = target;
  }

  private fireBucket(b: number, now: number): void {
    const items = this.buckets.get(b);
    if (!items) return;
    this.buckets.delete(b);
    for (const item of items) {
      if (item.timerBucket !== b) continue;
      item.timerBucket = 0;
      this.pending--;
      if (item.deadlineMs <= 0) continue;
      if (item.deadlineMs > now) this.put(item);
      else this.onDue(item);
    }
  }

  private bucketFor(deadlineMs: number): number {
    // Never schedule into a bucket already passed: the next tick must see it.
    return Math.max(Math.ceil(deadlineMs / this.tickMs), this.lastTick);
  }

  private put(item: T): void {
    const b = this.bucketFor(item.deadlineMs);
    let list = this.buckets.get(b);
    if (!list) this.buckets.set(b, (list = []));
    list.push(item);
    item.timerBucket = b;
    this.pending++;
  }
}
