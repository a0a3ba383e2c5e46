// Per-actor mailboxes: messages for one address run one at a time, in arrival order; idle actors hold no mailbox.

type Job = () => Promise<void>;

export class Mailboxes {
  private readonly queues = new Map<string, Job[]>();

  get busy(): number {
    return this.queues.size;
  }

  /** Runs fn after every earlier message for address has finished; resolves with its result. */
  post<T>(address: string, fn: () => Promise<T> | T): Promise<T> {
    // Fast path (most heartbeats): an idle actor and a synchronous message need no queue at all.
    if (!this.queues.has(address)) {
      let result: Promise<T> | T;
      try {
        result = fn();
      } catch (err) {
        return Promise.reject(err);
      }
      if (!(result instanceof Promise)) return Promise.resolve(result);
      // It went asynchronous: later messages for this address wait until it settles.
      const settled = result.then(() => undefined, () => undefined);
      this.queues.set(address, [() => settled]);
      void this.drain(address);
      return result;
    }
    return new Promise<T>((resolve, reject) => {
      const job: Job = async () => {
        try {
          resolve(await fn());
        } catch (err) {
          reject(err);
        }
      };
      const queue = this.queues.get(address);
      if (queue) {
        queue.push(job);
        return;
      }
      this.queues.set(address, [job]);
      void this.drain(address);
    });
  }

  /** Resolves when every queued message has run. */
  async idle(): Promise<void> {
    while (this.queues.size > 0) await new Promise((r) => setTimeout(r, 5));
  }

  private async drain(address: string): Promise<void> {
    const queue = this.queues.get(address)!;
    while (queue.length > 0) {
      await queue[0]();
      queue.shift();
    }
    this.queues.delete(address);
  }
}
