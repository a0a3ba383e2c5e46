// The feed's replay reads share a few slots of the MySQL pool (contract §10, review M3).
import { describe, expect, it } from "vitest";
import { limitReads, ReadSlots, replaySlotsFor } from "../../src/ws/replay-reads.js";

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("replay reads", () => {
  it("runs at most `slots` reads at once, the rest in arrival order, and frees the slot however a read ends", async () => {
    const slots = new ReadSlots(2);
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      slots.run(async () => {
        started.push(i);
        await g.promise;
        if (i === 0) throw new Error("MySQL went away");
        return i;
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect([slots.inUse, slots.queued]).toEqual([2, 2]);
    gates[0].resolve();
    await expect(runs[0]).rejects.toThrow("MySQL went away");
    expect(started).toEqual([0, 1, 2]);
    gates[1].resolve();
    gates[2].resolve();
    gates[3].resolve();
    expect(await Promise.all(runs.slice(1))).toEqual([1, 2, 3]);
    expect(started).toEqual([0, 1, 2, 3]);
    expect([slots.inUse, slots.queued]).toEqual([0, 0]);
  });

  it("gives replays a quarter of the pool, at least one connection", () => {
    expect([1, 3, 4, 10, 40].map(replaySlotsFor)).toEqual([1, 1, 1, 2, 10]);
  });

  it("routes every read of the store through the slots", async () => {
    const slots = new ReadSlots(1);
    const gate = deferred();
    const store = {
      readEvents: async (_after: number, _limit: number, _upto: number) => (await gate.promise, []),
      oldestSeq: async () => 1,
      newestSeq: async () => 2,
      pruneEvents: async () => 0,
    };
    const limited = limitReads(store, slots);
    const page = limited.readEvents(0, 10, 5);
    const oldest = limited.oldestSeq();
    await Promise.resolve();
    expect([slots.inUse, slots.queued]).toEqual([1, 1]);
    gate.resolve();
    expect(await page).toEqual([]);
    expect(await oldest).toBe(1);
    expect(await limited.pruneEvents()).toBe(0);
  });
});
