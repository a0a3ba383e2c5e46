// FetchSlots: the per-node bound on concurrent document fetches (issue 9), in order, with a bounded queue.
import { describe, expect, it } from "vitest";
import { FetchSlots, FetchSlotsFullError } from "../../src/trust/fetch-slots.js";

function latch() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

describe("FetchSlots", () => {
  it("runs at most `concurrency` tasks, starts waiters in arrival order, and refuses past the queue", async () => {
    const slots = new FetchSlots(2, 2);
    const gates = Array.from({ length: 4 }, latch);
    const started: number[] = [];
    const runs = gates.map((g, i) => slots.run(async () => {
      started.push(i);
      await g.opened;
      return i;
    }));
    await expect.poll(() => started).toEqual([0, 1]);
    expect([slots.inUse, slots.queued]).toEqual([2, 2]);
    await expect(slots.run(async () => 9)).rejects.toBeInstanceOf(FetchSlotsFullError);
    gates[1].open();
    await expect.poll(() => started).toEqual([0, 1, 2]);
    gates[0].open();
    gates[2].open();
    gates[3].open();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3]);
    expect([slots.inUse, slots.queued]).toEqual([0, 0]);
  });

  it("frees the slot when a task throws", async () => {
    const slots = new FetchSlots(1, 0);
    await expect(slots.run(async () => { throw new Error("boom"); })).rejects.toThrow("boom");
    expect(await slots.run(async () => "next")).toBe("next");
  });
});
