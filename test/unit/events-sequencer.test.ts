// The sequencer against an in-memory events table: own commits in order, other nodes' announcements read from the
// table (never taken from the message), forged seqs far ahead, floods of them, rolled-back holes, a failing store.
import { describe, expect, it, vi } from "vitest";
import type { RegistryEvent } from "../../src/core/events.js";
import { EventSequencer } from "../../src/events/sequencer.js";

function ev(seq: number, domain = `s${seq}.example.com`): RegistryEvent {
  return { seq, type: "server.updated", domain, origin: "reg.test", at: new Date(1_700_000_000_000 + seq).toISOString(), data: {} };
}

/** The events table: committed rows by seq; reads count and can be made to fail. */
function table(seqs: number[] = []) {
  const rows = new Map<number, RegistryEvent>(seqs.map((s) => [s, ev(s)]));
  const t = {
    rows,
    reads: 0,
    fail: false,
    /** When set, reads take their snapshot and then wait for it (a read in flight). */
    gate: null as Promise<void> | null,
    commit(e: RegistryEvent) {
      rows.set(e.seq, e);
      return e;
    },
    read: async (after: number, upto: number, limit: number): Promise<RegistryEvent[]> => {
      t.reads++;
      const fail = t.fail;
      const snapshot = [...rows.values()].filter((e) => e.seq > after && e.seq <= upto).sort((a, b) => a.seq - b.seq).slice(0, limit);
      await (t.gate ?? Promise.resolve());
      if (fail) throw new Error("store down");
      return snapshot;
    },
  };
  return t;
}

function setup(start = 0, seqs: number[] = [], opts = {}) {
  const t = table(seqs);
  const errors: unknown[] = [];
  const unconfirmed: number[] = [];
  const seq = new EventSequencer(start, t.read, (e) => errors.push(e), { onUnconfirmed: (s) => unconfirmed.push(s), retryMs: 5, ...opts });
  const got: RegistryEvent[] = [];
  seq.listen((e) => got.push(e));
  const seqs_ = () => got.map((e) => e.seq);
  return { t, seq, got, seqs: seqs_, errors, unconfirmed };
}

const idle = (s: EventSequencer) => s.catchUp();

describe("EventSequencer", () => {
  it("delivers own commits in order at once, and holds one that overtook an earlier commit until the gap is read", async () => {
    const { t, seq, seqs } = setup(0);
    seq.offer(t.commit(ev(1)));
    expect(seqs()).toEqual([1]);
    t.commit(ev(2)); // another node's commit, not announced yet
    seq.offer(t.commit(ev(3)));
    expect(seqs()).toEqual([1]);
    await vi.waitFor(() => expect(seqs()).toEqual([1, 2, 3]));
  });

  it("takes only the seq from another node's announcement and delivers the row MySQL holds", async () => {
    const { t, seq, got } = setup(0);
    t.commit({ ...ev(1), domain: "real.example.com" });
    seq.hint(1);
    await vi.waitFor(() => expect(got.map((e) => e.domain)).toEqual(["real.example.com"]));
  });

  it("a forged seq far ahead neither stalls nor moves the sequence: real events keep flowing", async () => {
    const { t, seq, seqs, unconfirmed } = setup(5);
    const started = performance.now();
    seq.hint(9_007_199_254_740_000);
    await idle(seq);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(seq.last).toBe(5);
    expect(unconfirmed).toEqual([9_007_199_254_740_000]);
    seq.offer(t.commit(ev(6)));
    t.commit(ev(7));
    seq.hint(7);
    await vi.waitFor(() => expect(seqs()).toEqual([6, 7]));
  });

  it("a forged next seq delivers nothing and does not hide the real event with that seq", async () => {
    const { t, seq, seqs, unconfirmed } = setup(10);
    seq.hint(11);
    await vi.waitFor(() => expect(unconfirmed).toEqual([11]));
    expect(seqs()).toEqual([]);
    seq.offer(t.commit(ev(11)));
    expect(seqs()).toEqual([11]);
  });

  it("a real announcement heard while a forged one is being read is not lost", async () => {
    const { t, seq, seqs } = setup(10);
    let open = () => {};
    t.gate = new Promise((r) => (open = r));
    seq.hint(12); // forged, one ahead of a real commit that is not visible yet
    await vi.waitFor(() => expect(t.reads).toBe(1));
    t.commit(ev(11));
    seq.hint(11); // the real one, heard while the read (which cannot see it) is in flight
    t.gate = null;
    open();
    await vi.waitFor(() => expect(seqs()).toEqual([11]));
  });

  it("a flood of 200,000 forged announcements costs few reads and leaves the sequence intact", async () => {
    const { t, seq, seqs } = setup(0);
    for (let i = 2; i < 200_002; i++) seq.hint(i);
    await idle(seq);
    expect(seq.last).toBe(0);
    expect(t.reads).toBeLessThan(10);
    seq.offer(t.commit(ev(1)));
    expect(seqs()).toEqual([1]);
  });

  it("a steady stream of forged announcements is read at most once per retry interval, real ones still arrive", async () => {
    const { t, seq, seqs } = setup(0, [], { retryMs: 50 });
    const started = Date.now();
    let next = 1000;
    while (Date.now() - started < 500) {
      seq.hint(next++);
      await new Promise((r) => setTimeout(r, 1));
    }
    // ~500 forged announcements over 500 ms at one read per 50 ms: about 10 reads, not hundreds.
    expect(next - 1000).toBeGreaterThan(100);
    expect(t.reads).toBeLessThan(30);
    t.commit(ev(1));
    seq.hint(1);
    await vi.waitFor(() => expect(seqs()).toEqual([1]));
  });

  it("skips holes that were rolled back, moving straight to each row (no counting up)", async () => {
    const { t, seq, seqs } = setup(0);
    t.commit(ev(1));
    t.commit(ev(1_000_000_000_000));
    seq.hint(1_000_000_000_000);
    await vi.waitFor(() => expect(seqs()).toEqual([1, 1_000_000_000_000]));
  });

  it("reads in batches: 2,500 missing events arrive in order", async () => {
    const { t, seq, seqs } = setup(0, [], { batch: 1000 });
    for (let i = 1; i <= 2500; i++) t.commit(ev(i));
    seq.hint(2500);
    await vi.waitFor(() => expect(seqs()).toHaveLength(2500));
    expect(seqs()).toEqual(Array.from({ length: 2500 }, (_, i) => i + 1));
    expect(t.reads).toBeLessThanOrEqual(4);
  });

  it("bounds the buffer of own commits ahead of a gap and still delivers every one from MySQL", async () => {
    const { t, seq, seqs } = setup(0, [], { maxBuffered: 100 });
    t.fail = true;
    t.commit(ev(1)); // the gap: announced later
    for (let i = 2; i <= 150_001; i++) seq.offer(t.commit(ev(i)));
    expect(seq.pending).toBe(100);
    t.fail = false;
    await vi.waitFor(() => expect(seq.last).toBe(150_001), { timeout: 10_000 });
    expect(seqs()).toEqual(Array.from({ length: 150_001 }, (_, i) => i + 1));
    expect(seq.pending).toBe(0);
  });

  it("retries after a failed read and reports the error", async () => {
    const { t, seq, seqs, errors } = setup(0);
    t.fail = true;
    t.commit(ev(1));
    seq.hint(1);
    await vi.waitFor(() => expect(errors.length).toBeGreaterThan(0));
    t.fail = false;
    await vi.waitFor(() => expect(seqs()).toEqual([1]));
  });

  it("a listener that throws does not stop the others or the sequence", async () => {
    const { t, seq, seqs, errors } = setup(0);
    seq.listen((e) => {
      if (e.seq === 1) throw new Error("listener failed");
    });
    seq.offer(t.commit(ev(1)));
    seq.offer(t.commit(ev(2)));
    expect(seqs()).toEqual([1, 2]);
    expect(errors).toHaveLength(1);
  });

  it("reach resolves once the seq is read from MySQL, or after its time limit when it never commits", async () => {
    const { t, seq, seqs } = setup(0);
    t.commit(ev(1));
    t.commit(ev(2));
    await seq.reach(2, 5000);
    expect(seqs()).toEqual([1, 2]);
    await seq.reach(1, 5000); // already there
    const started = Date.now();
    await seq.reach(99, 100);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(seq.last).toBe(2);
  });

  it("catchUp reads everything after last, concurrent reads never deliver twice or out of order", async () => {
    const { t, seq, seqs } = setup(0);
    for (let i = 1; i <= 50; i++) if (i % 7 !== 0) t.commit(ev(i));
    seq.hint(20);
    const a = seq.catchUp();
    seq.hint(50);
    await Promise.all([a, seq.catchUp()]);
    const want = Array.from({ length: 50 }, (_, i) => i + 1).filter((i) => i % 7 !== 0);
    expect(seqs()).toEqual(want);
  });
});
