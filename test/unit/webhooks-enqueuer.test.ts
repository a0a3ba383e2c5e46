// WebhookEnqueuer with an in-memory repository: batching, retry while MySQL fails, cursor, start-up catch-up and
// the bounded queue that falls back to re-reading the events table.
import { describe, expect, it, vi } from "vitest";
import type { RegistryEvent } from "../../src/core/events.js";
import type { DeliveriesRepo } from "../../src/webhooks/deliveries-repo.js";
import { WebhookEnqueuer } from "../../src/webhooks/enqueuer.js";
import { quietFor } from "../support/wait.js";

const ev = (seq: number): RegistryEvent => ({ seq, type: "server.updated", domain: "a.example.com", origin: "local", at: new Date(0).toISOString(), data: {} });

class FakeRepo {
  enqueued: number[] = [];
  calls = 0;
  failNext = 0;
  cursorSeq = 0;
  log: RegistryEvent[] = [];
  async enqueue(events: RegistryEvent[]) {
    this.calls++;
    if (this.failNext > 0) {
      this.failNext--;
      throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    }
    const fresh = events.filter((e) => !this.enqueued.includes(e.seq));
    this.enqueued.push(...fresh.map((e) => e.seq));
    return { created: fresh.length, dropped: 0 };
  }
  async cursor() {
    return this.cursorSeq;
  }
  async advanceCursor(seq: number) {
    this.cursorSeq = Math.max(this.cursorSeq, seq);
  }
  async eventsForWebhooks(after: number, upto: number, limit: number) {
    return this.log.filter((e) => e.seq > after && e.seq <= upto).slice(0, limit);
  }
}

const opts = { batchWindowMs: 5, maxQueued: 10, cursorEveryMs: 0, retryMs: 10 };

describe("WebhookEnqueuer", () => {
  it("writes events that arrive together in one batch and moves the cursor past them", async () => {
    const repo = new FakeRepo();
    const onEnqueued = vi.fn();
    const q = new WebhookEnqueuer(repo as unknown as DeliveriesRepo, onEnqueued, () => undefined, opts);
    for (let s = 1; s <= 5; s++) q.offer(ev(s));
    await vi.waitFor(() => expect(repo.enqueued).toEqual([1, 2, 3, 4, 5]));
    expect(repo.calls).toBe(1);
    expect(onEnqueued).toHaveBeenCalledWith(5, 0);
    await vi.waitFor(() => expect(repo.cursorSeq).toBe(5));
    await q.stop();
  });

  it("keeps a batch while MySQL fails and writes it when MySQL is back, reporting each failure", async () => {
    const repo = new FakeRepo();
    repo.failNext = 3;
    const onError = vi.fn();
    const q = new WebhookEnqueuer(repo as unknown as DeliveriesRepo, () => undefined, onError, opts);
    q.offer(ev(1));
    q.offer(ev(2));
    await vi.waitFor(() => expect(repo.enqueued).toEqual([1, 2]));
    expect(onError).toHaveBeenCalledTimes(3);
    expect(repo.cursorSeq).toBe(2);
    await q.stop();
  });

  it("enqueues at start-up what was committed after the cursor (a node died before enqueuing it)", async () => {
    const repo = new FakeRepo();
    repo.cursorSeq = 3;
    repo.log = [1, 2, 3, 4, 5, 6].map(ev);
    const q = new WebhookEnqueuer(repo as unknown as DeliveriesRepo, () => undefined, () => undefined, opts);
    q.startFrom(6);
    q.offer(ev(7));
    await vi.waitFor(() => expect(repo.enqueued).toEqual([4, 5, 6, 7]));
    await q.stop();
    expect(repo.cursorSeq).toBe(7);
  });

  it("drops events past the queue bound while MySQL is down and re-reads them from the events table", async () => {
    const repo = new FakeRepo();
    repo.failNext = 1_000_000;
    repo.log = Array.from({ length: 30 }, (_, i) => ev(i + 1));
    const q = new WebhookEnqueuer(repo as unknown as DeliveriesRepo, () => undefined, () => undefined, opts);
    for (const e of repo.log) q.offer(e);
    repo.failNext = 0;
    await vi.waitFor(() => expect([...repo.enqueued].sort((a, b) => a - b)).toEqual(repo.log.map((e) => e.seq)));
    await q.stop();
    expect(repo.cursorSeq).toBe(30);
  });

  it("writes what is queued when stopped and ignores events after that", async () => {
    const repo = new FakeRepo();
    const q = new WebhookEnqueuer(repo as unknown as DeliveriesRepo, () => undefined, () => undefined, { ...opts, batchWindowMs: 10_000 });
    q.offer(ev(1));
    await q.stop();
    expect(repo.enqueued).toEqual([1]);
    q.offer(ev(2));
    await quietFor(20); // absence check: nothing is enqueued after stop
    expect(repo.enqueued).toEqual([1]);
  });
});
