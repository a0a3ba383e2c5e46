// RATE_LIMIT_* parsing and the fixed-window limiter: counting, windows, memory bound, cluster sums.

import { describe, expect, it } from "vitest";
import { parseRateLimit, RateLimiter } from "../../src/security/rate-limit.js";

/** A clock tests move by hand; starts on a window boundary for 60 s windows. */
function manualClock(startMs = 1_800_000_000_000) {
  const clock = { nowMs: startMs, now: () => clock.nowMs };
  return clock;
}

describe("parseRateLimit", () => {
  it.each([
    ["30/60", "5/3600", { limit: 30, windowS: 60 }],
    [" 5/3600 ", "1/1", { limit: 5, windowS: 3600 }],
    [undefined, "10/60", { limit: 10, windowS: 60 }],
    ["", "10/60", { limit: 10, windowS: 60 }],
    ["off", "10/60", null],
    ["OFF", "10/60", null],
    [undefined, "off", null],
  ])("reads %j (default %j) as %j", (value, dflt, expected) => {
    expect(parseRateLimit(value, dflt)).toEqual(expected);
  });

  it.each(["0/60", "5/0", "5", "5/", "/60", "5/60s", "-1/60", "1.5/60", "5 / 60", "on", "5/60/1", "99999999999/1"])(
    "refuses %j with a message saying what is expected",
    (value) => {
      expect(() => parseRateLimit(value, "10/60")).toThrow(/invalid rate limit .*expected N\/seconds/);
    },
  );
});

describe("RateLimiter", () => {
  it("allows limit requests in a window, then refuses with Retry-After up to the window end", () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ limit: 3, windowS: 60, now: clock.now });
    const seen = [];
    for (let i = 0; i < 3; i++) {
      seen.push(limiter.take("1.2.3.4"));
      clock.nowMs += 1000;
    }
    expect(seen.map((d) => [d.allowed, d.remaining, d.resetS, d.retryAfterS])).toEqual([
      [true, 2, 60, 0],
      [true, 1, 59, 0],
      [true, 0, 58, 0],
    ]);
    clock.nowMs += 10_500; // 13.5 s into the window: 46.5 s left, rounded up
    expect(limiter.take("1.2.3.4")).toMatchObject({
      allowed: false, limit: 3, remaining: 0, resetS: 47, retryAfterS: 47,
    });
  });

  it("does not count refused requests", () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ limit: 2, windowS: 60, now: clock.now });
    limiter.take("k");
    limiter.take("k");
    for (let i = 0; i < 10; i++) expect(limiter.take("k").allowed).toBe(false);
    clock.nowMs += 60_000;
    expect(limiter.take("k")).toMatchObject({ allowed: true, remaining: 1 });
  });

  it("starts a fresh quota when the wall-clock window rolls over", () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ limit: 2, windowS: 60, now: clock.now });
    clock.nowMs += 59_000;
    limiter.take("k");
    limiter.take("k");
    expect(limiter.take("k")).toMatchObject({ allowed: false, retryAfterS: 1 });
    clock.nowMs += 999;
    expect(limiter.take("k")).toMatchObject({ allowed: false, retryAfterS: 1 });
    clock.nowMs += 1; // exactly on the boundary
    expect(limiter.take("k")).toMatchObject({ allowed: true, remaining: 1, resetS: 60 });
  });

  it("counts each key separately", () => {
    const limiter = new RateLimiter({ limit: 1, windowS: 60, now: manualClock().now });
    expect(limiter.take("a").allowed).toBe(true);
    expect(limiter.take("b").allowed).toBe(true);
    expect(limiter.take("a").allowed).toBe(false);
  });

  it.each([
    [0, true, 5],
    [3, true, 2],
    [5, true, 0],
    [6, false, 5],
  ])("takes a cost of %i at once: allowed %s, remaining %i", (cost, allowed, remaining) => {
    const limiter = new RateLimiter({ limit: 5, windowS: 60, now: manualClock().now });
    expect(limiter.take("k", cost)).toMatchObject({ allowed, remaining });
  });

  it.each([
    [{ limit: 0, windowS: 60 }],
    [{ limit: 1.5, windowS: 60 }],
    [{ limit: 1, windowS: 0 }],
    [{ limit: 1, windowS: Number.NaN }],
    [{ limit: 1, windowS: 60, maxKeys: 0 }],
  ])("refuses the options %j", (opts) => {
    expect(() => new RateLimiter(opts)).toThrow(RangeError);
  });

  it("refuses a negative or fractional cost", () => {
    const limiter = new RateLimiter({ limit: 1, windowS: 60 });
    expect(() => limiter.take("k", -1)).toThrow(RangeError);
    expect(() => limiter.take("k", 0.5)).toThrow(RangeError);
  });

  describe("sweep", () => {
    it("removes keys whose window ended and keeps the current ones", () => {
      const clock = manualClock();
      const limiter = new RateLimiter({ limit: 5, windowS: 60, now: clock.now });
      for (const k of ["a", "b", "c"]) limiter.take(k);
      clock.nowMs += 60_000;
      limiter.take("d");
      limiter.take("a"); // moves into the new window
      expect(limiter.size()).toBe(4);
      expect(limiter.sweep()).toBe(2); // b and c
      expect(limiter.size()).toBe(2);
      expect(limiter.sweep()).toBe(0);
      clock.nowMs += 60_000;
      expect(limiter.sweep()).toBe(2);
      expect(limiter.size()).toBe(0);
    });

    it("forgets nothing that still limits a client", () => {
      const clock = manualClock();
      const limiter = new RateLimiter({ limit: 1, windowS: 60, now: clock.now });
      limiter.take("k");
      clock.nowMs += 59_999;
      limiter.sweep();
      expect(limiter.take("k").allowed).toBe(false);
    });
  });

  describe("memory bound", () => {
    it("never holds more than maxKeys under a flood of 1,000,000 distinct keys", () => {
      const clock = manualClock();
      const maxKeys = 10_000;
      const limiter = new RateLimiter({ limit: 5, windowS: 60, maxKeys, now: clock.now });
      let largest = 0;
      for (let i = 0; i < 1_000_000; i++) {
        const decision = limiter.take(`flood-${i}`);
        if (!decision.allowed) throw new Error(`a fresh key was refused at ${i}`);
        largest = Math.max(largest, limiter.size());
        if (i % 100_000 === 0) clock.nowMs += 7_000; // windows roll over during the flood too
      }
      expect(largest).toBe(maxKeys);
      expect(limiter.size()).toBe(maxKeys);
    });

    it("drops expired keys before live ones when full", () => {
      const clock = manualClock();
      const limiter = new RateLimiter({ limit: 1, windowS: 60, maxKeys: 3, now: clock.now });
      limiter.take("old-1");
      limiter.take("old-2");
      clock.nowMs += 60_000;
      limiter.take("live");
      limiter.take("new"); // full: both expired keys go, "live" stays
      expect(limiter.size()).toBe(2);
      expect(limiter.take("live").allowed).toBe(false);
    });

    it("evicts the oldest live key when full of live keys, preferring to forget over growing", () => {
      const clock = manualClock();
      const limiter = new RateLimiter({ limit: 1, windowS: 60, maxKeys: 2, now: clock.now });
      limiter.take("first");
      limiter.take("second");
      limiter.take("third");
      expect(limiter.size()).toBe(2);
      expect(limiter.take("second").allowed).toBe(false);
      expect(limiter.take("third").allowed).toBe(false);
      expect(limiter.take("first").allowed).toBe(true); // forgotten, so it starts over
    });
  });

  describe("cluster counts", () => {
    it("limits the sum of local and remote counts for the same window", () => {
      const clock = manualClock();
      const limiter = new RateLimiter({ limit: 5, windowS: 60, now: clock.now });
      const first = limiter.take("ip");
      expect(limiter.addRemote("ip", first.windowStartMs, 2)).toBe(true);
      expect(limiter.addRemote("ip", first.windowStartMs, 1)).toBe(true);
      expect(limiter.take("ip")).toMatchObject({ allowed: true, remaining: 0 });
      expect(limiter.take("ip")).toMatchObject({ allowed: false, remaining: 0 });
    });

    it("adds up to the limit across three nodes that report to each other", () => {
      const clock = manualClock();
      const nodes = [0, 1, 2].map(() => new RateLimiter({ limit: 10, windowS: 60, now: clock.now }));
      let allowed = 0;
      for (let i = 0; i < 30; i++) {
        const self = nodes[i % 3];
        const d = self.take("ip");
        if (!d.allowed) continue;
        allowed++;
        for (const peer of nodes) if (peer !== self) peer.addRemote("ip", d.windowStartMs, 1);
      }
      expect(allowed).toBe(10);
    });

    it("counts a remote report for a key this node has not seen", () => {
      const clock = manualClock();
      const limiter = new RateLimiter({ limit: 3, windowS: 60, now: clock.now });
      expect(limiter.addRemote("ip", clock.nowMs, 3)).toBe(true);
      expect(limiter.take("ip")).toMatchObject({ allowed: false, remaining: 0 });
    });

    it("ignores reports for a window that is over", () => {
      const clock = manualClock();
      const limiter = new RateLimiter({ limit: 3, windowS: 60, now: clock.now });
      const old = clock.nowMs;
      clock.nowMs += 60_000;
      expect(limiter.addRemote("ip", old, 3)).toBe(false);
      expect(limiter.take("ip").allowed).toBe(true);
    });

    it("applies a report for the next window from a node whose clock runs slightly ahead", () => {
      const clock = manualClock();
      const limiter = new RateLimiter({ limit: 3, windowS: 60, now: clock.now });
      clock.nowMs += 59_990;
      expect(limiter.addRemote("ip", clock.nowMs + 10, 3)).toBe(true);
      expect(limiter.take("ip")).toMatchObject({ allowed: false });
      clock.nowMs += 10;
      expect(limiter.take("ip")).toMatchObject({ allowed: false });
      clock.nowMs += 60_000;
      expect(limiter.take("ip")).toMatchObject({ allowed: true });
    });

    it("ignores reports more than one window ahead", () => {
      const clock = manualClock();
      const limiter = new RateLimiter({ limit: 3, windowS: 60, now: clock.now });
      expect(limiter.addRemote("ip", clock.nowMs + 120_000, 3)).toBe(false);
      expect(limiter.size()).toBe(0);
    });

    it("refuses a window start that is not a boundary of this limiter's windows", () => {
      const clock = manualClock();
      const limiter = new RateLimiter({ limit: 3, windowS: 60, now: clock.now });
      expect(() => limiter.addRemote("ip", clock.nowMs + 1, 1)).toThrow(RangeError);
      expect(() => limiter.addRemote("ip", clock.nowMs, -1)).toThrow(RangeError);
    });

    it("aligns windows to the wall clock so every node computes the same window start", () => {
      const a = new RateLimiter({ limit: 3, windowS: 60, now: () => 1_800_000_012_345 });
      const b = new RateLimiter({ limit: 3, windowS: 60, now: () => 1_800_000_047_000 });
      expect(a.take("k").windowStartMs).toBe(1_800_000_000_000);
      expect(b.take("k").windowStartMs).toBe(1_800_000_000_000);
    });
  });
});

describe("RateLimiter.reserve", () => {
  it("holds a place at once, keeps it on commit and gives it back on cancel", () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ limit: 2, windowS: 60, now: clock.now });
    const a = limiter.reserve("d");
    const b = limiter.reserve("d");
    expect([a.decision.allowed, b.decision.allowed]).toEqual([true, true]);
    // Two in flight: a third is refused before either settles.
    expect(limiter.reserve("d").decision.allowed).toBe(false);
    b.cancel();
    b.cancel(); // once only: a second cancel gives nothing more back
    a.commit();
    const c = limiter.reserve("d");
    expect(c.decision).toMatchObject({ allowed: true, remaining: 0 });
    c.commit();
    expect(limiter.reserve("d").decision.allowed).toBe(false);
  });

  it("reports a committed reservation and not a cancelled one (the hook a cluster node uses)", () => {
    const reported: string[] = [];
    class Reporting extends RateLimiter {
      protected override committed(key: string): void {
        reported.push(key);
      }
    }
    const limiter = new Reporting({ limit: 5, windowS: 60, now: manualClock().now });
    limiter.reserve("kept").commit();
    limiter.reserve("dropped").cancel();
    limiter.take("taken");
    expect(reported).toEqual(["kept", "taken"]);
  });

  it("does not give back into a later window than the one it counted in", () => {
    const clock = manualClock();
    const limiter = new RateLimiter({ limit: 1, windowS: 60, now: clock.now });
    const held = limiter.reserve("d");
    clock.nowMs += 60_000;
    limiter.take("d");
    held.cancel();
    expect(limiter.take("d").allowed).toBe(false);
  });
});
