// A start that fails half-way releases what it opened (issue 15, src/lifecycle.ts): NATS refusing at start-up,
// after MySQL was opened and migrated, leaves no pool connection on the database and no handle in the process.
import { afterAll, describe, expect, it } from "vitest";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { freePort } from "../support/nats-server.js";
import { startRegistrar } from "../support/registrar.js";

/** Live handles of this process by kind (sockets, timers…), as Node reports them. */
function handles(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) out[kind] = (out[kind] ?? 0) + 1;
  return out;
}

/**
 * Polls until the handles equal `expected`. Each check runs after its own poll timer fired (so that timer is not
 * counted), which vi.waitFor's pending timers would not allow.
 */
async function handlesSettleTo(expected: Record<string, number>, timeoutMs: number): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  let now = handles();
  while (JSON.stringify(now) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    now = handles();
  }
  return now;
}

/** The handles once two readings a poll apart agree (what the test's own set-up opened has closed). */
async function settledHandles(): Promise<Record<string, number>> {
  let last = handles();
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const now = handles();
    if (JSON.stringify(now) === JSON.stringify(last) && !now.TCPServerWrap) return now;
    last = now;
  }
  return last;
}

describe("a node whose start fails after MySQL opened", () => {
  const url = freshDatabaseUrl("startfail");
  afterAll(async () => {
    await dropDatabase(url);
  });

  it("closes its pool and leaves no handle when NATS_URL does not answer", async () => {
    const natsPort = await freePort(); // nobody listens there
    // The baseline once freePort's probe server (and anything else of the set-up) has closed.
    const before = await settledHandles();
    await expect(startRegistrar({ DATABASE_URL: url, NATS_URL: `nats://127.0.0.1:${natsPort}`, LOG_LEVEL: "silent" })).rejects.toThrow();
    // Every socket and timer the failed start opened is gone (the pool's connections, NATS's attempt).
    expect(await handlesSettleTo(before, 5_000)).toEqual(before);

    // MySQL was reached first: the database exists and is migrated, and no connection of the node is left on it.
    const db = await connect(url);
    try {
      const [tables] = (await db.query("SELECT COUNT(*) AS n FROM schema_migrations")) as any;
      expect(Number(tables[0].n)).toBeGreaterThan(0);
      const name = new URL(url).pathname.slice(1);
      const [rows] = (await db.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()", [name])) as any;
      expect(Number(rows[0].n)).toBe(0);
    } finally {
      await db.end();
    }
  });
});
