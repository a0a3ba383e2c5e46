// Reconnect pacing: exponential backoff with full jitter, and round-robin over the registrar URLs.

export type BackoffOptions = {
  /** First retry waits up to this long. */
  initialMs: number;
  /** No retry waits longer. */
  maxMs: number;
  /** After a 1012 (node shutting down) the next node is tried after up to this long (spreads the herd). */
  restartJitterMs: number;
};

export const BACKOFF_DEFAULTS: BackoffOptions = { initialMs: 500, maxMs: 30_000, restartJitterMs: 500 };

export class Backoff {
  private attempt = 0;
  readonly o: BackoffOptions;

  constructor(opts: Partial<BackoffOptions> = {}, private readonly random: () => number = Math.random) {
    this.o = { ...BACKOFF_DEFAULTS, ...opts };
  }

  /** "Full jitter": uniform in [0, min(max, initial·2^attempt)), so many clients do not retry in step. */
  next(): number {
    const ceiling = Math.min(this.o.maxMs, this.o.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.floor(this.random() * ceiling);
  }

  /** The delay after the registrar said it is restarting: short, jittered, not counted as a failure. */
  afterRestart(): number {
    return Math.floor(this.random() * this.o.restartJitterMs);
  }

  /** A connection succeeded: the next failure starts from the first step again. */
  reset(): void {
    this.attempt = 0;
  }
}

/** Cycles through registrar URLs; every reconnect moves on, so a node that went away is not retried first. */
export class UrlRing {
  private i = 0;
  readonly urls: readonly string[];

  constructor(urls: string | readonly string[]) {
    this.urls = typeof urls === "string" ? [urls] : urls;
    if (this.urls.length === 0) throw new Error("at least one registrar URL is needed");
  }

  get current(): string {
    return this.urls[this.i];
  }

  advance(): string {
    this.i = (this.i + 1) % this.urls.length;
    return this.current;
  }
}
