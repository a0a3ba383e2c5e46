// The feed's reads from MySQL, limited to a few at a time per node (contract §10, review M3): however many clients
// replay at once, they share a small slice of the pool, so writes always find connections. Each read takes its
// connection only for the one statement; a replay that waits for its client to read holds none.
import type { FeedStore } from "./feed.js";

/** At most `slots` tasks at once; the others wait in arrival order. */
export class ReadSlots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly slots: number) {}

  get inUse(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.slots) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so a newcomer cannot jump the queue.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** A quarter of the pool, at least one connection: the rest stays for writes and everything else. */
export function replaySlotsFor(poolSize: number): number {
  return Math.max(1, Math.floor(poolSize / 4));
}

/** The same store, each read run in one of `slots`. */
export function limitReads<S extends FeedStore>(store: S, slots: ReadSlots): S {
  return {
    ...store,
    readEvents: (afterSeq, limit, uptoSeq) => slots.run(() => store.readEvents(afterSeq, limit, uptoSeq)),
    oldestSeq: () => slots.run(() => store.oldestSeq()),
    newestSeq: () => slots.run(() => store.newestSeq()),
  };
}
