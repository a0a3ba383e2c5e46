// Delivers committed events in seq order: buffers out-of-order arrivals and fills gaps from MySQL, so every node
// hands its listeners (feed, directory) the same sequence.
import type { RegistryEvent } from "../core/events.js";

export type Listener = (ev: RegistryEvent) => void;
export type GapReader = (afterSeq: number, uptoSeq: number) => Promise<RegistryEvent[]>;

export class EventSequencer {
  private readonly buffered = new Map<number, RegistryEvent>();
  private readonly listeners = new Set<Listener>();
  private gapTimer: NodeJS.Timeout | null = null;
  private filling = false;

  constructor(
    private lastSeq: number,
    private readonly readGap: GapReader,
    private readonly onError: (err: unknown) => void,
    private readonly gapWaitMs = 30,
  ) {}

  get last(): number {
    return this.lastSeq;
  }

  listen(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** Accepts an event from any source (local commit, cluster, gap fill); duplicates are dropped. */
  offer(ev: RegistryEvent): void {
    if (ev.seq <= this.lastSeq || this.buffered.has(ev.seq)) return;
    this.buffered.set(ev.seq, ev);
    this.drain();
    if (this.buffered.size > 0 && !this.gapTimer) {
      this.gapTimer = setTimeout(() => void this.fillGap(), this.gapWaitMs);
      this.gapTimer.unref();
    }
  }

  /** Reads everything committed after `last` from MySQL (after a NATS outage, or before taking over a shard). */
  async catchUp(): Promise<void> {
    for (;;) {
      const from = this.lastSeq;
      const upto = from + 1000;
      const found = await this.readGap(from, upto);
      if (found.length === 0) return;
      for (const ev of found) if (ev.seq > this.lastSeq && !this.buffered.has(ev.seq)) this.buffered.set(ev.seq, ev);
      // The range up to the last row read is final (seq order is commit order): skip holes below it.
      const top = found[found.length - 1].seq;
      while (this.lastSeq < top) {
        if (this.buffered.has(this.lastSeq + 1)) this.drain();
        else this.lastSeq++;
      }
      this.drain();
    }
  }

  private drain(): void {
    for (;;) {
      const next = this.buffered.get(this.lastSeq + 1);
      if (!next) return;
      this.buffered.delete(next.seq);
      this.lastSeq = next.seq;
      for (const l of this.listeners) l(next);
    }
  }

  // Seq order is commit order (event lock), so once seq N is visible, every seq below it is final: read the
  // missing range; what MySQL does not have was rolled back and is skipped.
  private async fillGap(): Promise<void> {
    this.gapTimer = null;
    if (this.filling || this.buffered.size === 0) return;
    this.filling = true;
    try {
      const upto = Math.min(...this.buffered.keys()) - 1;
      if (upto > this.lastSeq) {
        const found = await this.readGap(this.lastSeq, upto);
        for (const ev of found) if (ev.seq > this.lastSeq && !this.buffered.has(ev.seq)) this.buffered.set(ev.seq, ev);
        // Whatever is still missing up to `upto` never committed: skip those holes.
        while (this.lastSeq < upto) {
          if (this.buffered.has(this.lastSeq + 1)) this.drain();
          else this.lastSeq++;
        }
        this.drain();
      }
    } catch (err) {
      this.onError(err);
    } finally {
      this.filling = false;
      if (this.buffered.size > 0 && !this.gapTimer) {
        this.gapTimer = setTimeout(() => void this.fillGap(), this.gapWaitMs * 4);
        this.gapTimer.unref();
      }
    }
  }
}
