// Clock port: the actors read time and schedule ticks only through this, so tests can drive them with fake timers.
export interface Clock {
  now(): number;
  every(ms: number, fn: () => void): { stop(): void };
}

export const systemClock: Clock = {
  now: () => Date.now(),
  every(ms, fn) {
    const h = setInterval(fn, ms);
    h.unref?.();
    return { stop: () => clearInterval(h) };
  },
};
