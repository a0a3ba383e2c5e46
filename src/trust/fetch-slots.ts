// Bounded concurrency for document fetches (issue 9): at most N at once per node, a bounded queue, then refusal.

/** Thrown when every slot is taken and the queue is full: the caller answers 503 rather than piling up work. */
export class FetchSlotsFullError extends Error {}

export class FetchSlots {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly concurrency: number,
    readonly maxQueued: number,
  ) {}

  get inUse(): number {
    return this.active;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `task` when a slot is free; the slot is released however it ends. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) {
      if (this.waiting.length >= this.maxQueued) throw new FetchSlotsFullError("too many document fetches in progress");
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `active` never dips and a newcomer cannot jump the queue.
      if (next) next();
      else this.active--;
    }
  }
}
