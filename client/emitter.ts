// A small typed event emitter that runs the same in Node and browsers (no node:events).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Handlers = Record<string, (...args: any[]) => void>;

export class Emitter<E extends Handlers> {
  private readonly handlers = new Map<keyof E, Set<E[keyof E]>>();

  /** Adds a handler; returns a function that removes it. */
  on<K extends keyof E>(name: K, handler: E[K]): () => void {
    let set = this.handlers.get(name);
    if (!set) this.handlers.set(name, (set = new Set()));
    set.add(handler);
    return () => void set.delete(handler);
  }

  off<K extends keyof E>(name: K, handler: E[K]): void {
    this.handlers.get(name)?.delete(handler);
  }

  protected emit<K extends keyof E>(name: K, ...args: Parameters<E[K]>): void {
    const set = this.handlers.get(name);
    if (!set) return;
    for (const handler of set) {
      try {
        handler(...args);
      } catch (err) {
        // A throwing handler must not break the connection logic; surface it like an uncaught error.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
