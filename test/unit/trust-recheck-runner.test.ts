// RecheckRunner with in-memory ports: refresh on success, lapse after the grace, only owned domains, dropped watches.
import { describe, expect, it } from "vitest";
import type { CheckResult, DueCheck } from "../../src/trust/checks-repo.js";
import type { ProofOutcome } from "../../src/trust/proof.js";
import { RecheckRunner } from "../../src/trust/recheck-runner.js";

const OK: ProofOutcome = { ok: true, documentUrl: "u", keys: [], fetchedAtMs: 0 };
const DOWN: ProofOutcome = { ok: false, documentUrl: "u", reason: "timeout", message: "no complete answer within 5 s" };

function harness(opts: { owns?: (d: string) => boolean } = {}) {
  let now = 1_000;
  const rows = new Map<string, DueCheck>();
  const answers = new Map<string, ProofOutcome | null>();
  const log: string[] = [];
  const watch = (domain: string, origin = "local", at = now) => rows.set(`${domain} ${origin}`, { domain, origin, nextCheckAtMs: at, firstFailureAtMs: null, failures: 0 });
  const runner = new RecheckRunner(
    {
      checks: {
        due: async (t, limit) => [...rows.values()].filter((r) => r.nextCheckAtMs <= t).sort((a, b) => a.nextCheckAtMs - b.nextCheckAtMs).slice(0, limit),
        record: async (domain, origin, r: CheckResult) => {
          const row = rows.get(`${domain} ${origin}`)!;
          Object.assign(row, { nextCheckAtMs: r.nextCheckAtMs, firstFailureAtMs: r.firstFailureAtMs, failures: r.ok ? 0 : row.failures + 1 });
        },
        unwatch: async (domain, origin) => {
          rows.delete(`${domain} ${origin}`);
          log.push(`unwatch ${domain}`);
        },
      },
      attempt: async (domain) => (answers.has(domain) ? answers.get(domain)! : OK),
      owns: opts.owns ?? (() => true),
      proved: async (domain) => void log.push(`proved ${domain}`),
      lapsed: async (domain) => void log.push(`lapsed ${domain}`),
      onError: (err) => log.push(`error ${(err as Error).message}`),
      now: () => now,
    },
    { recheckIntervalMs: 1000, graceMs: 2500 },
  );
  return { runner, rows, answers, log, watch, tick: async (ms: number) => ((now += ms), runner.round()) };
}

describe("RecheckRunner", () => {
  it("re-checks due proofs, refreshing keys on success and scheduling the next a full interval later", async () => {
    const h = harness();
    h.watch("a.example.com");
    h.watch("b.example.com", "local", 5_000);
    await h.tick(0);
    expect(h.log).toEqual(["proved a.example.com"]);
    expect(h.rows.get("a.example.com local")!.nextCheckAtMs).toBe(2_000);
    expect(h.runner.stats).toMatchObject({ checked: 1, failed: 0 });
  });

  it("lapses a proof missing for longer than the grace, and proves it again when it comes back", async () => {
    const h = harness();
    h.watch("a.example.com");
    h.answers.set("a.example.com", DOWN);
    await h.tick(0); // first failure at 1000; grace ends at 3500
    expect(h.rows.get("a.example.com local")).toMatchObject({ firstFailureAtMs: 1_000, failures: 1, nextCheckAtMs: 2_000 });
    await h.tick(1_000);
    await h.tick(1_000); // 3000: next check capped at 3501
    expect(h.rows.get("a.example.com local")!.nextCheckAtMs).toBe(3_501);
    expect(h.log).toEqual([]);
    await h.tick(501);
    expect(h.log).toEqual(["lapsed a.example.com"]);
    h.answers.delete("a.example.com");
    await h.tick(1_000);
    expect(h.log).toEqual(["lapsed a.example.com", "proved a.example.com"]);
    expect(h.rows.get("a.example.com local")).toMatchObject({ firstFailureAtMs: null, failures: 0 });
  });

  it("checks only the domains this node owns", async () => {
    const h = harness({ owns: (d) => d.startsWith("mine") });
    h.watch("mine.example.com");
    h.watch("theirs.example.com");
    await h.tick(0);
    expect(h.log).toEqual(["proved mine.example.com"]);
    expect(h.rows.get("theirs.example.com local")!.nextCheckAtMs).toBe(1_000);
  });

  it("drops the watch of a record that is gone, and keeps going after an error", async () => {
    const h = harness();
    h.watch("gone.example.com");
    h.answers.set("gone.example.com", null);
    await h.tick(0);
    expect(h.log).toEqual(["unwatch gone.example.com"]);
    expect(h.rows.size).toBe(0);
  });

  it("never runs two rounds at once, and starts none after stop", async () => {
    const h = harness();
    h.watch("a.example.com");
    const first = h.runner.round();
    expect(h.runner.round()).toBe(first);
    await first;
    expect(h.log).toEqual(["proved a.example.com"]);
    await h.runner.stop();
    h.watch("b.example.com");
    await h.tick(5_000);
    expect(h.log).toEqual(["proved a.example.com"]);
  });
});
