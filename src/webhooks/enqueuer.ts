// Turns committed events into pending deliveries: fed by the sequencer (in seq order), written in small batches,
// and caught up from the events table at start-up for events a crashed node committed but never enqueued.
import type { RegistryEvent } from "../core/events.js";
import type { DeliveriesRepo } from "./deliveries-repo.js";

export type EnqueuerOptions = {
  /** Events arriving within this window share one INSERT. */
  batchWindowMs: number;
  /** Queue bound while MySQL is unreachable; past it events are dropped here and re-read from the events table. */
  maxQueued: number;
  /** The shared cursor is written at most this often (it only shortens the start-up catch-up). */
  cursorEveryMs: number;
  retryMs: number;
};

export const ENQUEUER_DEFAULTS: EnqueuerOptions = { batchWindowMs: 10, maxQueued: 50_000, cursorEveryMs: 1000, retryMs: 1000 };
const BATCH = 500;

export class WebhookEnqueuer {
  private queue: RegistryEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private pumping: Promise<void> | null = null;
  /** Highest seq whose deliveries (if any) are in MySQL, with every lower seq this node saw. */
  private doneSeq = 0;
  private cursorSeq = 0;
  private cursorWrittenMs = 0;
  /** Set when events were dropped: re-read (cursor, catchUpTo] from the events table before going on. */
  private catchUpTo = 0;
  private stopped = false;

  constructor(
    private readonly repo: DeliveriesRepo,
    private readonly onEnqueued: (rows: number, dropped: number) => void,
    private readonly onError: (err: unknown) => void,
    private readonly opts: EnqueuerOptions = ENQUEUER_DEFAULTS,
  ) {}

  /** Enqueues what was committed up to `uptoSeq` but is not past the cursor yet; call once at start. */
  startFrom(uptoSeq: number): void {
    this.catchUpTo = Math.max(this.catchUpTo, uptoSeq);
    this.schedule(0);
  }

  /** The sequencer listener. */
  offer(ev: RegistryEvent): void {
    if (this.stopped) return;
    if (this.queue.length >= this.opts.maxQueued) {
      this.queue = [];
      this.catchUpTo = Math.max(this.catchUpTo, ev.seq);
    } else {
      this.queue.push(ev);
    }
    this.schedule(this.opts.batchWindowMs);
  }

  /** Writes what is queued (retrying while MySQL errors, until `deadlineMs`) and stops taking events. */
  async stop(deadlineMs = Date.now() + 5000): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (Date.now() < deadlineMs) {
      await (this.pumping ?? this.pump());
      if (this.queue.length === 0 && this.catchUpTo <= this.doneSeq) break;
      await new Promise((r) => setTimeout(r, Math.min(this.opts.retryMs, Math.max(0, deadlineMs - Date.now()))));
    }
    if (this.doneSeq > this.cursorSeq) await this.repo.advanceCursor(this.doneSeq).catch(this.onError);
  }

  private schedule(ms: number): void {
    if (this.timer || this.pumping) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.pump();
    }, ms);
    this.timer.unref();
  }

  private pump(): Promise<void> {
    this.pumping ??= this.drain()
      .then(
        () => undefined,
        (err) => {
          this.onError(err);
          if (!this.stopped) {
            this.timer = setTimeout(() => {
              this.timer = null;
              void this.pump();
            }, this.opts.retryMs);
            this.timer.unref();
          }
        },
      )
      .finally(() => {
        this.pumping = null;
        if (!this.stopped && this.queue.length > 0 && !this.timer) this.schedule(0);
      });
    return this.pumping;
  }

  private async drain(): Promise<void> {
    if (this.catchUpTo > this.doneSeq) await this.catchUp();
    while (this.queue.length > 0) {
      const batch = this.queue.slice(0, BATCH);
      const { created, dropped } = await this.repo.enqueue(batch); // on error the batch stays queued and is retried
      this.queue.splice(0, batch.length);
      this.doneSeq = Math.max(this.doneSeq, batch[batch.length - 1].seq);
      if (created > 0) this.onEnqueued(created, dropped);
    }
    if (this.doneSeq > this.cursorSeq && Date.now() - this.cursorWrittenMs >= this.opts.cursorEveryMs) {
      await this.repo.advanceCursor(this.doneSeq);
      this.cursorSeq = this.doneSeq;
      this.cursorWrittenMs = Date.now();
    }
  }

  private async catchUp(): Promise<void> {
    const upto = this.catchUpTo;
    let after = await this.repo.cursor();
    for (;;) {
      const events = await this.repo.eventsForWebhooks(after, upto, BATCH);
      if (events.length === 0) break;
      const { created, dropped } = await this.repo.enqueue(events);
      if (created > 0) this.onEnqueued(created, dropped);
      after = events[events.length - 1].seq;
    }
    // Queued events at or below `upto` were covered by the scan.
    while (this.queue.length > 0 && this.queue[0].seq <= upto) this.queue.shift();
    this.doneSeq = Math.max(this.doneSeq, upto);
    await this.repo.advanceCursor(upto);
    this.cursorSeq = Math.max(this.cursorSeq, upto);
  }
}
