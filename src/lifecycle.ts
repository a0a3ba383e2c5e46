// The start/stop stack of a node: each feature, once started, defers its stop here; stop() runs them in reverse
// order, once, and a start that fails half-way stops what was already started before the error propagates.
import type { Logger } from "./log.js";

export type Stoppable = { stop(): Promise<void> | void };

export class Lifecycle {
  private readonly stack: { name: string; stop: () => Promise<void> | void }[] = [];
  private stopping: Promise<void> | null = null;

  constructor(private readonly log: Logger) {}

  /** Registers what undoes a step that has just succeeded; it runs before everything registered earlier. */
  defer(name: string, stop: () => Promise<void> | void): void {
    if (this.stopping) throw new Error(`cannot start ${name}: the node is stopping`);
    this.stack.push({ name, stop });
  }

  /** Defers the feature's own stop() and hands the feature back: `const x = life.add("x", await startX(...))`. */
  add<T extends Stoppable>(name: string, feature: T): T {
    this.defer(name, () => feature.stop());
    return feature;
  }

  /**
   * Runs every deferred stop in reverse order. A stop that fails is logged and the rest still run (a half-stopped
   * node leaking its pool is worse); the first failure is rethrown at the end. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      let first: unknown = null;
      while (this.stack.length > 0) {
        const step = this.stack.pop()!;
        try {
          await step.stop();
        } catch (err) {
          this.log.error({ err, step: step.name }, "stop step failed");
          first ??= err;
        }
      }
      if (first !== null) throw first;
    })();
    return this.stopping;
  }

  /** Runs a start sequence; if it throws, everything it started is stopped before the error goes on. */
  async run<T>(start: (life: Lifecycle) => Promise<T>): Promise<T> {
    try {
      return await start(this);
    } catch (err) {
      await this.stop().catch(() => {
        // Already logged per step; the start error is the one the caller needs.
      });
      throw err;
    }
  }
}
