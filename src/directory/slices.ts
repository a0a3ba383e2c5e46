// Background work cut into short slices between event-loop turns (contract §10: no listing request may stall the
// loop): index builds and first scans for a new `q` run here, a few milliseconds at a time, so heartbeats and
// timers get the loop between two slices whatever the directory's size.

/** Resumable work: does some of it (at least one unit), stopping once performance.now() passes `untilMs`; true when all is done. */
export type SliceTask = { step(untilMs: number): boolean };

/** The default slice: far under the 100 ms stall bound, long enough that the per-turn overhead stays small. */
export const DEFAULT_SLICE_MS = 4;

export class SliceJob {
  finished = false;
  /** A request waits for it: it runs before background work, after jobs that became urgent earlier. */
  urgent = false;
  readonly done: Promise<void>;
  private resolve!: () => void;
  private reject!: (err: unknown) => void;

  constructor(readonly task: SliceTask) {
    this.done = new Promise<void>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    // A job nobody awaits must not become an unhandled rejection; callers that await it still see the error.
    this.done.catch(() => {});
  }

  /** Runs one step; true when the job is over (done or failed). */
  run(untilMs: number): boolean {
    if (this.finished) return true;
    try {
      if (!this.task.step(untilMs)) return false;
      this.finished = true;
      this.resolve();
    } catch (err) {
      this.finished = true;
      this.reject(err);
    }
    return true;
  }

  /** Ends the job without finishing its work (the directory was reloaded): waiters go on and find what is there. */
  abandon(): void {
    if (this.finished) return;
    this.finished = true;
    this.resolve();
  }
}

export class SliceRunner {
  private queue: SliceJob[] = [];
  private scheduled = false;

  constructor(private readonly sliceMs = DEFAULT_SLICE_MS) {}

  get pending(): number {
    return this.queue.length;
  }

  /** Queues a task; `urgent`: a request waits for it. */
  schedule(task: SliceTask, urgent = false): SliceJob {
    const job = new SliceJob(task);
    this.queue.push(job);
    if (urgent) this.promote(job);
    this.wake();
    return job;
  }

  /**
   * A request now waits for the job: it moves ahead of background work, behind the jobs other requests already wait
   * for (first come, first served, so that many requests for different sorts finish one by one, not all at the end).
   */
  promote(job: SliceJob): void {
    if (job.urgent || job.finished) return;
    job.urgent = true;
    const i = this.queue.indexOf(job);
    if (i < 0) return;
    this.queue.splice(i, 1);
    let at = 0;
    while (at < this.queue.length && this.queue[at].urgent) at++;
    this.queue.splice(at, 0, job);
  }

  /** Finishes a job at once, synchronously (a caller that cannot wait); a no-op for a finished one. */
  finishNow(job: SliceJob): void {
    while (!job.run(Infinity));
    this.queue = this.queue.filter((j) => j !== job);
  }

  /** Drops every queued job (the directory was reloaded); anyone waiting on one goes on. */
  clear(): void {
    for (const job of this.queue) job.abandon();
    this.queue = [];
  }

  private wake(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => this.turn());
  }

  private turn(): void {
    this.scheduled = false;
    const until = performance.now() + this.sliceMs;
    while (this.queue.length > 0) {
      const job = this.queue[0];
      if (job.run(until)) this.queue.shift();
      if (performance.now() >= until) break;
    }
    this.wake();
  }
}
