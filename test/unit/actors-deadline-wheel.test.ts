// Unit tests for the offline-deadline timer wheel (actors/timers.ts), driven by a hand-cranked clock.
import { describe, expect, it } from "vitest";
import type { Clock } from "../../actors/clock.js";
import { DeadlineWheel } from "../../actors/timers.js";

const TICK_MS = 25;

/** A clock whose time only moves when the test says so; `every` callbacks run on each step. */
class ManualClock implements Clock {
  private readonly intervals = new Set<() => void>();
  constructor(public t = 0) {}
  now(): number {
    return this.t;
  }
  every(_ms: number, fn: () => void) {
    this.intervals.add(fn);
    return { stop: () => void this.intervals.delete(fn) };
  }
  /** Moves time forward in tick-sized steps, running the ticker after each, like a healthy event loop. */
  advance(ms: number, step = TICK_MS): void {
    const end = this.t + ms;
    while (this.t < end) {
      this.t = Math.min(end, this.t + step);
      for (const fn of this.intervals) fn();
    }
  }
  /** Moves time in one leap and runs the ticker once (a suspended laptop, a stalled event loop). */
  jump(ms: number): void {
    this.t += ms;
    for (const fn of this.intervals) fn();
  }
}

type Item = { id: string; deadlineMs: number; timerBucket: number };
const item = (id: string, deadlineMs: number): Item => ({ id, deadlineMs, timerBucket: 0 });

function setup(startMs = 0) {
  const clock = new ManualClock(startMs);
  const fired: { id: string; at: number }[] = [];
  const wheel = new DeadlineWheel<Item>(clock, (it) => fired.push({ id: it.id, at: clock.now() }), TICK_MS);
  wheel.start();
  return { clock, wheel, fired };
}

describe("DeadlineWheel", () => {
  it("fires an item at its deadline and not before", () => {
    const { clock, wheel, fired } = setup();
    wheel.arm(item("a", 1_000));
    clock.advance(999, 1);
    expect(fired).toEqual([]);
    clock.advance(1, 1);
    expect(fired).toEqual([{ id: "a", at: 1_000 }]);
    clock.advance(5_000);
    expect(fired).toHaveLength(1);
    expect(wheel.size).toBe(0);
  });

  it("fires a deadline that falls between ticks at the first tick after it, never early", () => {
    const { clock, wheel, fired } = setup();
    wheel.arm(item("a", 1_010));
    clock.advance(1_000);
    expect(fired).toEqual([]);
    clock.advance(TICK_MS);
    expect(fired).toEqual([{ id: "a", at: 1_025 }]);
  });

  it("keeps an item waiting when a heartbeat pushes its deadline later before it comes due", () => {
    const { clock, wheel, fired } = setup();
    const a = item("a", 1_000);
    wheel.arm(a);
    clock.advance(900);
    a.deadlineMs = 2_000; // the heartbeat
    wheel.arm(a);
    clock.advance(1_099); // t = 1999
    expect(fired).toEqual([]);
    expect(wheel.size).toBe(1);
    clock.advance(1);
    expect(fired).toEqual([{ id: "a", at: 2_000 }]);
  });

  it("cancels an item on disarm", () => {
    const { clock, wheel, fired } = setup();
    const a = item("a", 1_000);
    wheel.arm(a);
    wheel.disarm(a);
    clock.advance(3_000);
    expect(fired).toEqual([]);
    expect(wheel.size).toBe(0);
  });

  it("fires at the new deadline when an item is disarmed and armed again with an earlier one", () => {
    const { clock, wheel, fired } = setup();
    const a = item("a", 5_000);
    wheel.arm(a);
    wheel.disarm(a);
    a.deadlineMs = 1_000;
    wheel.arm(a);
    clock.advance(6_000);
    expect(fired).toEqual([{ id: "a", at: 1_000 }]);
    expect(wheel.size).toBe(0);
  });

  it("fires an item armed with a deadline already passed at the next tick", () => {
    const { clock, wheel, fired } = setup(10_000);
    wheel.arm(item("late", 4_000));
    expect(fired).toEqual([]);
    clock.advance(TICK_MS);
    expect(fired).toEqual([{ id: "late", at: 10_025 }]);
  });

  it("catches up after a time jump: every deadline passed meanwhile fires on the next tick, later ones wait", () => {
    const { clock, wheel, fired } = setup();
    for (const [id, d] of [["c", 3_000], ["a", 1_000], ["b", 2_000], ["later", 20_000]] as const) wheel.arm(item(id, d));
    clock.jump(10_000);
    expect(fired.map((f) => f.id).sort()).toEqual(["a", "b", "c"]);
    expect(fired.every((f) => f.at === 10_000)).toBe(true);
    clock.advance(9_975);
    expect(fired).toHaveLength(3);
    clock.advance(TICK_MS);
    expect(fired.at(-1)).toEqual({ id: "later", at: 20_000 });
  });

  it("catches up after a jump of a year in one tick without walking every empty bucket", () => {
    const { clock, wheel, fired } = setup(Date.UTC(2026, 0, 1));
    const start = clock.now();
    wheel.arm(item("a", start + 60_000));
    wheel.arm(item("b", start + 400 * 86_400_000));
    const began = performance.now();
    clock.jump(365 * 86_400_000); // 1.26 billion 25 ms buckets
    expect(performance.now() - began).toBeLessThan(1_000);
    expect(fired.map((f) => f.id)).toEqual(["a"]);
    expect(wheel.size).toBe(1);
  });

  it("does not lose or fire early an item when the clock steps backwards", () => {
    const { clock, wheel, fired } = setup(100_000);
    wheel.arm(item("a", 101_000));
    clock.advance(500);
    clock.t -= 60_000; // NTP step back
    clock.advance(59_000 + 499); // t = 99 999
    expect(fired).toEqual([]);
    clock.advance(1_001);
    expect(fired.map((f) => f.id)).toEqual(["a"]);
  });

  it("stops ticking after stop()", () => {
    const { clock, wheel, fired } = setup();
    wheel.arm(item("a", 100));
    wheel.stop();
    clock.advance(1_000);
    expect(fired).toEqual([]);
  });
});
