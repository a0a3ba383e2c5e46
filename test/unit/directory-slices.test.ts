// The slice runner behind index fills and q scans (issue 8): work runs in short steps between event-loop turns,
// jobs that requests wait for go first (first come, first served), and a reload lets every waiter go on.
import { describe, expect, it } from "vitest";
import { SliceRunner, type SliceTask } from "../../src/directory/slices.js";

/** A task of `units` steps of one unit each, logging its name per step. */
function counted(name: string, units: number, log: string[]): SliceTask {
  let left = units;
  return { step: () => (log.push(name), --left === 0) };
}

describe("SliceRunner", () => {
  it("gives the event loop back between slices", async () => {
    const runner = new SliceRunner(1);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    // A task that takes ~2 ms per step: a 1 ms slice runs one step per turn.
    const spin: SliceTask = { step: () => { const t = performance.now(); while (performance.now() - t < 2); return ++steps >= 30; } };
    let steps = 0;
    await runner.schedule(spin).done;
    clearInterval(timer);
    expect(ticks).toBeGreaterThan(5);
  });

  it("runs the jobs requests wait for first, in the order they were asked for, then background work", async () => {
    const runner = new SliceRunner(0);
    const log: string[] = [];
    const background = runner.schedule(counted("bg", 3, log));
    const first = runner.schedule(counted("a", 2, log), true);
    const later = runner.schedule(counted("b", 2, log));
    runner.promote(later);
    await Promise.all([background.done, first.done, later.done]);
    expect(log).toEqual(["a", "a", "b", "b", "bg", "bg", "bg"]);
  });

  it("finishes a job at once on demand, and lets waiters go on when cleared", async () => {
    const runner = new SliceRunner();
    const log: string[] = [];
    const now = runner.schedule(counted("x", 5, log));
    runner.finishNow(now);
    expect(now.finished).toBe(true);
    expect(log).toHaveLength(5);
    const dropped = runner.schedule(counted("y", 1_000_000, log));
    runner.clear();
    await dropped.done;
    expect(runner.pending).toBe(0);
  });
});
