// The lifecycle stack (src/lifecycle.ts): stops run in reverse, once; a start that throws half-way stops what it had
// started; a failing stop step is logged and the others still run.
import pino from "pino";
import { describe, expect, it } from "vitest";
import { Lifecycle } from "../../src/lifecycle.js";

const silent = pino({ level: "silent" });

describe("Lifecycle", () => {
  it("runs the deferred stops in reverse order of start, once however often stop is called", async () => {
    const life = new Lifecycle(silent);
    const order: string[] = [];
    for (const name of ["store", "transport", "events", "edge"]) life.add(name, { stop: () => void order.push(name) });
    await Promise.all([life.stop(), life.stop()]);
    await life.stop();
    expect(order).toEqual(["edge", "events", "transport", "store"]);
  });

  it("stops what a failed start had opened, in reverse, and rethrows the start's error", async () => {
    const life = new Lifecycle(silent);
    const order: string[] = [];
    const boom = new Error("nats refused");
    await expect(
      life.run(async (l) => {
        l.add("store", { stop: async () => void order.push("store") });
        l.defer("timer", () => void order.push("timer"));
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(order).toEqual(["timer", "store"]);
  });

  it("keeps stopping after a step fails and reports the first failure", async () => {
    const life = new Lifecycle(silent);
    const order: string[] = [];
    life.add("store", { stop: () => void order.push("store") });
    life.add("webhooks", { stop: async () => { throw new Error("flush failed"); } });
    life.add("edge", { stop: () => void order.push("edge") });
    await expect(life.stop()).rejects.toThrow("flush failed");
    expect(order).toEqual(["edge", "store"]);
  });

  it("refuses to start something once stopping began", async () => {
    const life = new Lifecycle(silent);
    await life.stop();
    expect(() => life.defer("late", () => {})).toThrow(/stopping/);
  });
});
