// Every actor command through the shard mailbox (ClusterActors over the in-process transport) gets the same reply
// and the same error, of the same class, as the same command run locally; what is not a command is dropped, counted
// and never run (issue 15).
import { describe, expect, it } from "vitest";
import type { ActorApi, ServerCommand } from "../../actors/commands.js";
import { ServerActors } from "../../actors/server-actors.js";
import { ClusterActors } from "../../src/cluster/cluster-actors.js";
import { NotOwnerError, RegistrarError, TokenExpiredError, UnauthorizedError, DomainTakenError } from "../../src/core/errors.js";
import { ServerRecord } from "../../src/core/record.js";
import { hashToken } from "../../src/core/tokens.js";
import { DAY_MS } from "../../src/core/units.js";
import { encode } from "../../transport/codec.js";
import { InProcessTransport } from "../../transport/in-process.js";
import { FakeDirectory, FakeStore, ManualClock } from "../support/actor-fakes.js";
import { MASS_EXPIRY_DEFAULTS } from "../../actors/mass-expiry.js";

const SHARDS = 4;
const hash = (n: number) => hashToken(String(n).repeat(64).slice(0, 64)).toString("hex");
const by = { kind: "domain" as const, id: "a.example.com" };

/** One registrar's actors on fakes, with a mirrored record listed (for not_owner). */
function actors(clock: ManualClock) {
  const directory = new FakeDirectory();
  const mirrored = new ServerRecord("m.example.net", "peer.example.net");
  directory.add(mirrored);
  const local = new ServerActors(
    { registrarId: "local", offlineAfterMs: 60_000, tokenTtlDays: 1, tokenMaxAgeDays: 2, massExpiry: MASS_EXPIRY_DEFAULTS },
    directory, new FakeStore(), { publish() {} }, { markDirty() {} }, clock, () => {},
  );
  return local;
}

/** An edge that owns no shard: every command crosses the transport to the owner, which serves every shard. */
function remote(owner: ActorApi) {
  const transport = new InProcessTransport();
  const drops: string[] = [];
  const settings = { shards: SHARDS, requestTimeoutMs: 1000, retryBudgetMs: 200 };
  const subject = (s: number) => `zt.shard.${s}`;
  const serving = new ClusterActors(owner, () => true, transport, subject, settings, owner, () => {}, (k, r) => void drops.push(`${k}:${r}`));
  for (let s = 0; s < SHARDS; s++) serving.serve(s);
  const edge = new ClusterActors(owner, () => false, transport, subject, settings, owner, () => {}, (k, r) => void drops.push(`${k}:${r}`));
  return { edge, transport, subject, drops };
}

const SCRIPT: { cmd: ServerCommand; advanceMs?: number; fails?: new (...a: never[]) => RegistrarError }[] = [
  { cmd: { type: "register", domain: "a.example.com", fields: { name: "A", api_url: "https://a.example.com/api" }, tokenHash: hash(1), by } },
  { cmd: { type: "register", domain: "a.example.com", fields: { name: "A", api_url: "https://a.example.com/api" }, tokenHash: hash(2), by }, fails: DomainTakenError },
  { cmd: { type: "heartbeat", domain: "a.example.com", tokenHash: hash(1), stats: { user_count: 3, version: "1.2" } }, advanceMs: 1000 },
  { cmd: { type: "heartbeat", domain: "a.example.com", tokenHash: hash(9), stats: {} }, fails: UnauthorizedError },
  { cmd: { type: "heartbeat", domain: "a.example.com", tokenHash: null, stats: {} }, fails: UnauthorizedError },
  { cmd: { type: "heartbeat", domain: "nobody.example.com", tokenHash: hash(1), stats: {} }, fails: UnauthorizedError },
  { cmd: { type: "heartbeat", domain: "m.example.net", tokenHash: hash(1), stats: {} }, fails: NotOwnerError },
  { cmd: { type: "update", domain: "a.example.com", tokenHash: hash(1), changed: { name: "A2", description: null }, by }, advanceMs: 1000 },
  { cmd: { type: "rotate_token", domain: "a.example.com", tokenHash: hash(1), newTokenHash: hash(2), by } },
  { cmd: { type: "update", domain: "a.example.com", tokenHash: hash(1), changed: { name: "A3" }, by }, fails: UnauthorizedError },
  { cmd: { type: "register", domain: "b.example.com", fields: { name: "B", api_url: "https://b.example.com/api", protocols: ["zent/1"] }, tokenHash: hash(3), by } },
  { cmd: { type: "remove", domain: "b.example.com", tokenHash: hash(3), by } },
  { cmd: { type: "remove", domain: "b.example.com", tokenHash: hash(3), by }, fails: UnauthorizedError },
  // Past the sliding TTL (1 day): the edge sees a TokenExpiredError, not a look-alike.
  { cmd: { type: "heartbeat", domain: "a.example.com", tokenHash: hash(2), stats: {} }, advanceMs: 2 * DAY_MS, fails: TokenExpiredError },
  { cmd: { type: "remove", domain: "a.example.com", tokenHash: hash(2), by }, fails: TokenExpiredError },
];

async function outcome(api: ActorApi, cmd: ServerCommand): Promise<unknown> {
  try {
    return { ok: await api.send(cmd) };
  } catch (err) {
    return { error: err };
  }
}

describe("actor commands through the shard mailbox", () => {
  it("get the same replies and the same errors, of the same class, as local calls", async () => {
    const localClock = new ManualClock();
    const remoteClock = new ManualClock();
    const local = actors(localClock);
    const { edge, drops } = remote(actors(remoteClock));
    for (const step of SCRIPT) {
      localClock.t += step.advanceMs ?? 0;
      remoteClock.t += step.advanceMs ?? 0;
      const here = (await outcome(local, step.cmd)) as { ok?: unknown; error?: RegistrarError };
      const there = (await outcome(edge, step.cmd)) as { ok?: unknown; error?: RegistrarError };
      if (step.fails) {
        expect(here.error, step.cmd.type).toBeInstanceOf(step.fails);
        expect(there.error, step.cmd.type).toBeInstanceOf(step.fails);
        expect({ code: there.error!.code, status: there.error!.status, message: there.error!.message }).toEqual({
          code: here.error!.code, status: here.error!.status, message: here.error!.message,
        });
      } else {
        expect(here.error, step.cmd.type).toBeUndefined();
        expect(there).toEqual(here);
      }
    }
    expect(drops).toEqual([]);
    expect(edge.stats.remote).toBe(SCRIPT.length);
  });

  it.each([
    ["not JSON", Buffer.from("{op: 'remove'"), "not_json"],
    ["an unknown command", encode({ v: 1, cmd: { type: "eval", domain: "a.example.com", code: "process.exit()" } }), "invalid"],
    ["a method name (the old envelope)", encode({ op: "remove", domain: "a.example.com", args: [null, by] }), "invalid"],
    ["another version", encode({ v: 2, cmd: { type: "remove", domain: "a.example.com", tokenHash: hash(1), by } }), "invalid"],
    ["a raw token where a hash belongs", encode({ v: 1, cmd: { type: "heartbeat", domain: "a.example.com", tokenHash: "a".repeat(64).toUpperCase(), stats: {} } }), "invalid"],
    ["an oversized message", encode({ v: 1, cmd: { type: "heartbeat", domain: "a.example.com", tokenHash: null, stats: { version: "x".repeat(300_000) } } }), "too_large"],
  ])("drops %s at the owner, counts it and runs nothing", async (_what, payload, reason) => {
    const clock = new ManualClock();
    const owner = actors(clock);
    const sent: ServerCommand[] = [];
    const spy: ActorApi = { send: (cmd) => (sent.push(cmd), owner.send(cmd)) };
    const { transport, subject, drops } = remote(spy);
    const reply = JSON.parse(Buffer.from(await transport.request(subject(0), payload, 1000)).toString("utf8"));
    expect(reply).toMatchObject({ v: 1, error: { code: "unavailable" } });
    expect(sent).toEqual([]);
    expect(drops).toEqual([`shard:${reason}`]);
  });
});
