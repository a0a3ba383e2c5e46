// Per-key request limits in fixed wall-clock windows whose counts add up across cluster nodes.
import { createHash } from "node:crypto";

/** One limit: at most `limit` requests per `windowS` seconds. */
export interface RateLimit {
  limit: number;
  windowS: number;
}

export interface RateLimitDecision {
  allowed: boolean;
  limit: number;
  /** Requests left in this window after this one (0 when refused). */
  remaining: number;
  /** Whole seconds until the window ends and the count starts over (RateLimit-Reset), ≥ 1. */
  resetS: number;
  /** 0 when allowed; else the Retry-After value in whole seconds, ≥ 1. */
  retryAfterS: number;
  /**
   * Start of the window this request was counted in. A cluster node publishes
   * `{key, windowStartMs, cost}` for each allowed request so peers can `addRemote` it.
   */
  windowStartMs: number;
}

/**
 * A request counted before its outcome is known: `commit()` when it turned out to count, `cancel()` to give the
 * count back (a per-domain write refused for its token must not spend the owner's budget). Either, once.
 */
export interface RateLimitReservation {
  readonly decision: RateLimitDecision;
  commit(): void;
  cancel(): void;
}

export interface RateLimiterOptions {
  limit: number;
  windowS: number;
  /** Most keys held at once; see RateLimiter for what happens at the bound. */
  maxKeys?: number;
  /** Wall-clock milliseconds; injectable for tests. Must be wall-clock so nodes share windows. */
  now?: () => number;
  /** Called on each refusal (metrics); the one place every limited route passes through. */
  onRefused?: () => void;
}

/** Longest limiter key a cluster report carries (transport/subjects.ts RateLimitReport.k). */
const MAX_KEY_CHARS = 64;

/** A domain's key in the per-domain limiters: the domain itself, or a digest of one too long for the wire. */
export function domainLimitKey(domain: string): string {
  return domain.length <= MAX_KEY_CHARS ? domain : `#${createHash("sha256").update(domain).digest("base64url")}`;
}

export const RATE_LIMIT_DEFAULTS = Object.freeze({ maxKeys: 100_000 });

const MAX_LIMIT = 1_000_000_000;
const MAX_WINDOW_S = 366 * 24 * 3600;

/**
 * Parses `N/seconds` (e.g. RATE_LIMIT_LIST=30/60) or `off` (any case) → null, which disables the
 * limit. Unset or blank uses `dflt`. Anything else throws, so a typo fails start-up rather than
 * running unprotected. `0/60` is refused too: blocking everything is not a rate limit, and `off`
 * already says "no limit".
 */
export function parseRateLimit(value: string | undefined, dflt: string): RateLimit | null {
  const text = value === undefined || value.trim() === "" ? dflt.trim() : value.trim();
  if (text.toLowerCase() === "off") return null;
  const match = /^(\d{1,10})\/(\d{1,8})$/.exec(text);
  const limit = match ? Number(match[1]) : NaN;
  const windowS = match ? Number(match[2]) : NaN;
  if (!(limit >= 1 && limit <= MAX_LIMIT && windowS >= 1 && windowS <= MAX_WINDOW_S)) {
    throw new Error(
      `invalid rate limit "${text}": expected N/seconds with N 1–${MAX_LIMIT} and seconds ` +
        `1–${MAX_WINDOW_S} (e.g. 30/60), or off`,
    );
  }
  return { limit, windowS };
}

interface Window {
  readonly key: string;
  startMs: number;
  /** Counted by this node. */
  local: number;
  /** Reported by other nodes for the same window. */
  remote: number;
  // Links in the age list, oldest window start first.
  older: Window | null;
  newer: Window | null;
}

/**
 * Fixed windows aligned to the wall clock (`floor(now / window)`), so every node agrees on window
 * boundaries and per-window counts from several nodes simply add: the limit holds for the sum.
 * The price of fixed windows is that a client can spend one full quota at the end of a window
 * and another at the start of the next (at most 2× limit across a boundary); in return
 * RateLimit-Reset has an exact meaning and counts merge without coordination.
 *
 * Memory is bounded by `maxKeys`. When a new key arrives at the bound, expired keys are dropped
 * from the old end, and if it is still full the oldest keys go: under a flood of distinct keys the
 * limiter prefers forgetting old clients over growing. Each insertion does O(1) amortised work;
 * the full `sweep()` runs only on the caller's schedule
 * (`setInterval(() => limiter.sweep(), …).unref()`), never inside a request.
 * "Oldest" is kept as a linked list in the order windows started (a key moving to a new window
 * goes to the new end), beside the Map rather than in its insertion order: iterating a Map from
 * its start skips the tombstones of every earlier deletion, which made a key flood quadratic.
 *
 * Clock skew between nodes only matters within the skew of a window boundary: a report for the
 * next window moves the key there early, and a late report for a window already left behind is
 * dropped. Reports further than one window ahead are ignored, so a node with a wrong clock cannot
 * pin keys into the far future.
 */
export class RateLimiter {
  readonly limit: number;
  readonly windowS: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  readonly #onRefused: (() => void) | undefined;
  readonly #windows = new Map<string, Window>();
  #oldest: Window | null = null;
  #newest: Window | null = null;

  constructor(opts: RateLimiterOptions) {
    const { limit, windowS, maxKeys = RATE_LIMIT_DEFAULTS.maxKeys, now = Date.now, onRefused } = opts;
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError(`limit must be a positive integer, got ${limit}`);
    }
    const windowMs = Math.round(windowS * 1000);
    if (!Number.isFinite(windowS) || windowMs < 1) {
      throw new RangeError(`windowS must be positive, got ${windowS}`);
    }
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
      throw new RangeError(`maxKeys must be a positive integer, got ${maxKeys}`);
    }
    this.limit = limit;
    this.windowS = windowS;
    this.#windowMs = windowMs;
    this.#maxKeys = maxKeys;
    this.#now = now;
    this.#onRefused = onRefused;
  }

  /** Counts `cost` requests for `key` if they fit in the current window; a refusal counts nothing. */
  take(key: string, cost = 1): RateLimitDecision {
    const d = this.#count(key, cost);
    if (d.allowed && cost > 0) this.committed(key, d, cost);
    return d;
  }

  /**
   * Counts one request for `key` on this node now (so concurrent requests see it) and leaves it to the caller to
   * `commit()` it (a cluster node then tells the others) or `cancel()` it (the count is given back). A refused
   * reservation counts nothing; its commit and cancel do nothing.
   */
  reserve(key: string): RateLimitReservation {
    const decision = this.#count(key, 1);
    let settled = !decision.allowed;
    return {
      decision,
      commit: () => {
        if (settled) return;
        settled = true;
        this.committed(key, decision, 1);
      },
      cancel: () => {
        if (settled) return;
        settled = true;
        const window = this.#windows.get(key);
        if (window !== undefined && window.startMs === decision.windowStartMs && window.local > 0) window.local--;
      },
    };
  }

  /** Allowed requests that count for good pass here (SharedRateLimiter reports them to the other nodes). */
  protected committed(_key: string, _decision: RateLimitDecision, _cost: number): void {}

  #count(key: string, cost: number): RateLimitDecision {
    if (!Number.isSafeInteger(cost) || cost < 0) {
      throw new RangeError(`cost must be a non-negative integer, got ${cost}`);
    }
    const now = this.#now();
    const window = this.#windowFor(key, this.#windowStart(now), now);
    const used = window.local + window.remote;
    const resetS = Math.max(1, Math.ceil((window.startMs + this.#windowMs - now) / 1000));
    const windowStartMs = window.startMs;
    // Two full literals rather than a spread of a shared part: on Node 20 the spread cost ~2.5 µs
    // per call, more than the rest of take() together.
    if (used + cost <= this.limit) {
      window.local += cost;
      const remaining = this.limit - used - cost;
      return { allowed: true, limit: this.limit, remaining, resetS, retryAfterS: 0, windowStartMs };
    }
    const remaining = Math.max(0, this.limit - used);
    this.#onRefused?.();
    return { allowed: false, limit: this.limit, remaining, resetS, retryAfterS: resetS, windowStartMs };
  }

  /**
   * Adds `count` requests that another node accepted for `key` in the window starting at
   * `windowStartMs` (the `windowStartMs` of that node's decision). Returns whether it was applied:
   * reports for a window already over, or more than one window ahead, are ignored.
   */
  addRemote(key: string, windowStartMs: number, count: number): boolean {
    if (!Number.isSafeInteger(count) || count < 0) {
      throw new RangeError(`count must be a non-negative integer, got ${count}`);
    }
    if (!Number.isSafeInteger(windowStartMs) || windowStartMs % this.#windowMs !== 0) {
      throw new RangeError(
        `windowStartMs ${windowStartMs} is not a boundary of this limiter's ${this.#windowMs} ms windows`,
      );
    }
    const now = this.#now();
    const current = this.#windowStart(now);
    if (windowStartMs < current || windowStartMs > current + this.#windowMs) return false;
    const existing = this.#windows.get(key);
    if (existing !== undefined && existing.startMs > windowStartMs) return false;
    const window = this.#windowFor(key, windowStartMs, now);
    window.remote += count;
    return true;
  }

  /** Removes every key whose window has ended; returns how many went. */
  sweep(): number {
    const current = this.#windowStart(this.#now());
    let removed = 0;
    // The whole list, not only its old end: reports from a clock running ahead can put a newer
    // window before older ones.
    for (let window = this.#oldest; window !== null; ) {
      const newer = window.newer;
      if (window.startMs < current) {
        this.#remove(window);
        removed++;
      }
      window = newer;
    }
    return removed;
  }

  size(): number {
    return this.#windows.size;
  }

  #windowStart(now: number): number {
    return Math.floor(now / this.#windowMs) * this.#windowMs;
  }

  // The key's window starting at `startMs`, or a later one it already has; an older one starts over.
  #windowFor(key: string, startMs: number, now: number): Window {
    const existing = this.#windows.get(key);
    if (existing !== undefined && existing.startMs >= startMs) return existing;
    if (existing !== undefined) {
      this.#unlink(existing);
      existing.startMs = startMs;
      existing.local = 0;
      existing.remote = 0;
      this.#append(existing);
      return existing;
    }
    this.#makeRoom(now);
    const window: Window = { key, startMs, local: 0, remote: 0, older: null, newer: null };
    this.#windows.set(key, window);
    this.#append(window);
    return window;
  }

  // Drops expired keys from the old end, then the oldest keys while still at the bound.
  #makeRoom(now: number): void {
    if (this.#windows.size < this.#maxKeys) return;
    const current = this.#windowStart(now);
    while (this.#oldest !== null) {
      if (this.#windows.size < this.#maxKeys && this.#oldest.startMs >= current) break;
      this.#remove(this.#oldest);
    }
  }

  #remove(window: Window): void {
    this.#unlink(window);
    this.#windows.delete(window.key);
  }

  #append(window: Window): void {
    window.older = this.#newest;
    window.newer = null;
    if (this.#newest !== null) this.#newest.newer = window;
    else this.#oldest = window;
    this.#newest = window;
  }

  #unlink(window: Window): void {
    if (window.older !== null) window.older.newer = window.newer;
    else this.#oldest = window.newer;
    if (window.newer !== null) window.newer.older = window.older;
    else this.#newest = window.older;
    window.older = null;
    window.newer = null;
  }
}
