// Delivers committed events in seq order, so every node hands its listeners (feed, directory, webhooks) the same
// sequence. MySQL is the source of order and content: this node's own commits are delivered as they are (it wrote
// them), but an event another node announces on NATS is only a hint to read the events table, never delivered as
// received. A forged announcement therefore cannot inject, reorder or skip anything: at worst it costs one indexed
// range read that finds nothing (security review H5, L2).
import type { RegistryEvent } from "../core/events.js";

export type Listener = (ev: RegistryEvent) => void;
/** Reads up to `limit` committed events with afterSeq < seq <= uptoSeq, in seq order. */
export type GapReader = (afterSeq: number, uptoSeq: number, limit: number) => Promise<RegistryEvent[]>;

export const SEQUENCER_DEFAULTS = {
  /** Rows per read of the events table. */
  batch: 1000,
  /** Own commits kept while an earlier seq is still on its way; beyond this they are read back from MySQL. */
  maxBuffered: 10_000,
  /** Wait before reading again after a failed read (MySQL away) or an announcement MySQL did not confirm. */
  retryMs: 120,
} as const;

export type SequencerOptions = {
  /** Called with the hinted seq when an announced event is not in MySQL (forged, or rolled back): counted. */
  onUnconfirmed?: (seq: number) => void;
  batch?: number;
  maxBuffered?: number;
  retryMs?: number;
};

export class EventSequencer {
  /** Own commits that arrived before an earlier seq: delivered once the gap below them is read. */
  private readonly buffered = new Map<number, RegistryEvent>();
  private readonly listeners = new Set<Listener>();
  /** Highest seq this node committed itself: certainly in MySQL. */
  private committed = 0;
  /** Highest seq announced by other nodes: untrusted, only a reason to read. */
  private hinted = 0;
  /** Announcements heard: one that arrives during a read may be for a commit the read could not see yet. */
  private hintsHeard = 0;
  private queue: Promise<void> = Promise.resolve();
  private pullQueued = false;
  private retryTimer: NodeJS.Timeout | null = null;
  /** After an announcement MySQL did not confirm, further announcements wait this long: a flood costs few reads. */
  private suspectUntil = 0;
  private readonly s: Required<Omit<SequencerOptions, "onUnconfirmed">>;
  /** Callers waiting for `last` to reach a seq (an edge that routed a write to another node). */
  private readonly waiters = new Set<{ seq: number; done: () => void }>();

  constructor(
    private lastSeq: number,
    private readonly readGap: GapReader,
    private readonly onError: (err: unknown) => void,
    private readonly opts: SequencerOptions = {},
  ) {
    this.s = {
      batch: opts.batch ?? SEQUENCER_DEFAULTS.batch,
      maxBuffered: opts.maxBuffered ?? SEQUENCER_DEFAULTS.maxBuffered,
      retryMs: opts.retryMs ?? SEQUENCER_DEFAULTS.retryMs,
    };
  }

  get last(): number {
    return this.lastSeq;
  }

  /** Own commits held back for a gap (bounded by maxBuffered). */
  get pending(): number {
    return this.buffered.size;
  }

  listen(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** An event this node committed: delivered now when it is next, else once the gap below it is read. */
  offer(ev: RegistryEvent): void {
    if (ev.seq <= this.lastSeq) return;
    if (ev.seq === this.lastSeq + 1) {
      this.deliver(ev);
      this.drainBuffered();
      return;
    }
    if (ev.seq > this.committed) this.committed = ev.seq;
    // Past the bound the event is simply read back with the gap (it is committed, so MySQL has it).
    if (this.buffered.size < this.s.maxBuffered) this.buffered.set(ev.seq, ev);
    this.schedulePull();
  }

  /** Another node says it committed `seq`: read the events table up to it (nothing is taken from the message). */
  hint(seq: number): void {
    if (!Number.isSafeInteger(seq) || seq <= this.lastSeq) return;
    this.hintsHeard++;
    if (seq <= this.hinted) return;
    this.hinted = seq;
    this.schedulePull();
  }

  /**
   * Resolves once `last` reaches `seq` (read from MySQL like any announcement), or after timeoutMs: an edge that
   * routed a write to its shard owner answers only when its own directory shows the write (read your writes).
   */
  reach(seq: number, timeoutMs: number): Promise<void> {
    if (seq <= this.lastSeq) return Promise.resolve();
    return new Promise((resolve) => {
      const w = { seq, done: () => (clearTimeout(timer), this.waiters.delete(w), resolve()) };
      const timer = setTimeout(w.done, timeoutMs);
      timer.unref();
      this.waiters.add(w);
      this.hint(seq);
    });
  }

  /** Reads everything committed after `last` from MySQL (after a NATS outage, or before taking over a shard). */
  catchUp(): Promise<void> {
    return this.enqueue(() => this.readUpTo(Number.MAX_SAFE_INTEGER));
  }

  /** Reads run one at a time, in order, so two reads never interleave their deliveries. */
  private enqueue(job: () => Promise<void>): Promise<void> {
    const run = this.queue.then(job);
    this.queue = run.catch(() => {});
    return run;
  }

  private schedulePull(): void {
    if (this.pullQueued) return;
    this.pullQueued = true;
    this.enqueue(async () => {
      this.pullQueued = false;
      await this.pull();
    }).catch((err) => {
      this.onError(err);
      this.retryLater();
    });
  }

  private retryLater(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (Math.max(this.hinted, this.committed) > this.lastSeq) this.schedulePull();
    }, this.s.retryMs);
    this.retryTimer.unref();
  }

  private async pull(): Promise<void> {
    const target = Math.max(this.hinted, this.committed);
    if (target <= this.lastSeq) return;
    // Only announcements pending, and the last one was false: wait (real events are at most retryMs late).
    if (this.committed <= this.lastSeq && Date.now() < this.suspectUntil) {
      this.retryLater();
      return;
    }
    const heard = this.hintsHeard;
    await this.readUpTo(target);
    if (this.hinted > this.lastSeq && this.hinted <= target) {
      this.suspectUntil = Date.now() + this.s.retryMs;
      // An announcement heard during the read may be a real commit below a forged one: read once more, later.
      if (this.hintsHeard !== heard) return this.retryLater();
      // Everything committed up to the hint has been read: what was announced beyond it does not exist.
      const unconfirmed = this.hinted;
      this.hinted = this.lastSeq;
      this.opts.onUnconfirmed?.(unconfirmed);
    }
    // A hint or commit that arrived during the read queued its own pull.
  }

  // Seq order is commit order (the event lock), so once a row is visible every seq below it is final: holes
  // between the rows read were rolled back and are skipped by moving `last` to each row in turn.
  private async readUpTo(upto: number): Promise<void> {
    for (;;) {
      const rows = await this.readGap(this.lastSeq, upto, this.s.batch);
      for (const ev of rows) {
        if (ev.seq <= this.lastSeq) continue;
        this.buffered.delete(ev.seq);
        this.deliver(ev);
      }
      this.dropDelivered();
      this.drainBuffered();
      if (rows.length < this.s.batch || this.lastSeq >= upto) return;
    }
  }

  private deliver(ev: RegistryEvent): void {
    this.lastSeq = ev.seq;
    for (const l of this.listeners) {
      try {
        l(ev);
      } catch (err) {
        // One listener's failure must not stop the others or the sequence.
        this.onError(err);
      }
    }
    if (this.waiters.size > 0) for (const w of this.waiters) if (w.seq <= this.lastSeq) w.done();
  }

  private drainBuffered(): void {
    for (;;) {
      const next = this.buffered.get(this.lastSeq + 1);
      if (!next) return;
      this.buffered.delete(next.seq);
      this.deliver(next);
    }
  }

  private dropDelivered(): void {
    if (this.buffered.size === 0) return;
    for (const seq of this.buffered.keys()) if (seq <= this.lastSeq) this.buffered.delete(seq);
  }
}
