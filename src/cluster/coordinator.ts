// Shard ownership loop: acquires the shards rendezvous hashing assigns to this node, renews their leases, hands
// them over when the membership changes, takes over leases whose holder stopped renewing, and fences writes.
import { preferredOwner, shardOf } from "../../actors/shards.js";
import type { Fence } from "../../actors/ports.js";
import type { Ownership } from "../../actors/ports.js";
import { ShardMovedError } from "../core/errors.js";
import type { LeaseStore } from "../../transport/leases.js";
import type { Membership } from "./membership.js";

export type ShardHooks = {
  /** Claims the fencing epoch in MySQL and loads the shard's records; returns the epoch. */
  acquired(shard: number): Promise<number>;
  /** The shard is ready (writes fence with its epoch): arm its timers and answer its mailbox. */
  serving(shard: number): void;
  /** Stops serving and flushes everything the shard owes MySQL, before the lease is given up. */
  releasing(shard: number): Promise<void>;
  /** The lease was lost without a handoff (taken over or expired): stop at once, write nothing more. */
  lost(shard: number): void;
  onError(err: unknown, what: string): void;
};

export type CoordinatorSettings = {
  nodeId: string;
  shards: number;
  tickMs: number;
  renewMs: number;
  /** A lease whose revision has not changed for this long is considered abandoned. */
  staleMs: number;
  leaseTtlMs: number;
};

export class ShardCoordinator implements Ownership {
  private readonly held = new Map<number, number>();
  private readonly ready = new Map<number, number>();
  private readonly busy = new Set<number>();
  /** Shards being handed over: queued messages finish and flush, new ones go elsewhere. */
  private readonly draining = new Set<number>();
  private readonly leaseChanged = new Map<number, { revision: number; atMs: number }>();
  /** Each shard's preferred owner among the live members as of the last tick (the edge's guess for batches). */
  private preferred: (string | undefined)[] = [];
  private lastRenewOkMs = Date.now();
  private tickTimer: NodeJS.Timeout | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private stopping = false;
  moves = 0;

  constructor(
    private readonly s: CoordinatorSettings,
    private readonly leases: LeaseStore,
    private readonly membership: Membership,
    private readonly hooks: ShardHooks,
  ) {}

  // Ownership port for the actors.
  fence(domain: string): Fence | undefined {
    const shard = shardOf(domain, this.s.shards);
    const epoch = this.ready.get(shard);
    if (epoch === undefined) throw new ShardMovedError(`this node does not own shard ${shard}`);
    return { shard, epoch };
  }

  /** New messages for this shard run here. */
  accepts(shard: number): boolean {
    return this.ready.has(shard) && !this.draining.has(shard);
  }

  /** This node is the source of truth for the domain's record (also while handing it over). */
  ownsDomain(domain: string): boolean {
    return this.ready.has(shardOf(domain, this.s.shards));
  }

  /** The node rendezvous hashing named for the shard at the last tick (undefined before the first). */
  presumedOwner(shard: number): string | undefined {
    return this.preferred[shard];
  }

  get shardsOwned(): number {
    return this.ready.size;
  }

  ownedShards(): number[] {
    return [...this.ready.keys()];
  }

  start(): void {
    this.tickTimer = setInterval(() => this.tick(), this.s.tickMs);
    this.renewTimer = setInterval(() => void this.renewAll(), this.s.renewMs);
    this.tickTimer.unref();
    this.renewTimer.unref();
    this.tick();
  }

  /** Hands every shard over (flushing first) and stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    while (this.busy.size > 0) await sleep(10);
    await Promise.all([...this.held.keys()].map((shard) => this.release(shard)));
    if (this.renewTimer) clearInterval(this.renewTimer);
  }

  tick(): void {
    if (this.stopping) return;
    const now = Date.now();
    const members = this.membership.members();
    for (let shard = 0; shard < this.s.shards; shard++) {
      const preferred = preferredOwner(shard, members);
      this.preferred[shard] = preferred;
      if (this.busy.has(shard)) continue;
      if (this.held.has(shard)) {
        if (preferred !== this.s.nodeId) void this.release(shard);
        continue;
      }
      const lease = this.leases.view.get(shard);
      if (!lease) {
        if (preferred === this.s.nodeId) void this.acquire(shard, null);
        continue;
      }
      // Track when each lease last changed: a holder that renews changes it every renewMs.
      const seen = this.leaseChanged.get(shard);
      if (!seen || seen.revision !== lease.revision) {
        this.leaseChanged.set(shard, { revision: lease.revision, atMs: now });
        continue;
      }
      const abandoned = now - seen.atMs > this.s.staleMs && lease.node !== this.s.nodeId;
      const departed = !members.includes(lease.node) && now - seen.atMs > this.s.renewMs * 1.5;
      if (preferred === this.s.nodeId && (abandoned || departed || lease.node === this.s.nodeId)) void this.acquire(shard, lease.revision);
    }
  }

  private async acquire(shard: number, staleRevision: number | null): Promise<void> {
    this.busy.add(shard);
    try {
      const revision = staleRevision === null ? await this.leases.acquire(shard) : await this.leases.steal(shard, staleRevision);
      if (revision === null) return;
      this.held.set(shard, revision);
      try {
        const epoch = await this.hooks.acquired(shard);
        if (this.held.has(shard)) {
          this.ready.set(shard, epoch);
          this.moves++;
          this.hooks.serving(shard);
        }
      } catch (err) {
        this.hooks.onError(err, `acquire shard ${shard}`);
        this.hooks.lost(shard);
        const rev = this.held.get(shard);
        this.held.delete(shard);
        if (rev !== undefined) await this.leases.release(shard, rev).catch(() => {});
      }
    } catch (err) {
      this.hooks.onError(err, `lease shard ${shard}`);
    } finally {
      this.busy.delete(shard);
    }
  }

  private async release(shard: number): Promise<void> {
    if (this.busy.has(shard) && !this.stopping) return;
    this.busy.add(shard);
    try {
      this.draining.add(shard);
      await this.hooks.releasing(shard);
      this.ready.delete(shard);
      this.draining.delete(shard);
      const revision = this.held.get(shard);
      this.held.delete(shard);
      if (revision !== undefined) await this.leases.release(shard, revision);
      this.moves++;
    } catch (err) {
      this.hooks.onError(err, `release shard ${shard}`);
      this.ready.delete(shard);
      this.draining.delete(shard);
    } finally {
      this.busy.delete(shard);
    }
  }

  private async renewAll(): Promise<void> {
    const entries = [...this.held.entries()];
    let failures = 0;
    await Promise.all(
      entries.map(async ([shard, revision]) => {
        try {
          const next = await this.leases.renew(shard, revision);
          if (next === null) return this.drop(shard);
          if (this.held.get(shard) === revision) this.held.set(shard, next);
        } catch (err) {
          failures++;
          if (failures === 1) this.hooks.onError(err, "renew leases");
        }
      }),
    );
    if (failures === 0) this.lastRenewOkMs = Date.now();
    // Self-fencing when the KV store stays unreachable: a lost CAS already drops a shard at once (above); a KV
    // that does not answer (JetStream leader election, NATS away) cannot hand the lease to anyone else either,
    // and MySQL fencing stops a deposed owner's writes, so wait a few TTLs before giving everything up.
    else if (Date.now() - this.lastRenewOkMs > this.s.leaseTtlMs * 3) {
      for (const shard of [...this.held.keys()]) this.drop(shard);
    }
  }

  private drop(shard: number): void {
    this.held.delete(shard);
    if (this.ready.delete(shard)) this.moves++;
    this.hooks.lost(shard);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
