// The LeaseStore port on a JetStream KV bucket with a TTL: create = acquire, compare-and-set update = renew/steal,
// revision = fencing epoch. A watch keeps every node's view of who holds which shard current.
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Lease, LeaseStore } from "../leases.js";

const key = (shard: number) => `s${shard}`;

export class KvLeaseStore implements LeaseStore {
  /** shard → current holder, from the watch (expired leases vanish only when someone overwrites them). */
  readonly view = new Map<number, Lease>();
  private watching = false;

  private constructor(
    private readonly kv: KV,
    private readonly nodeId: string,
  ) {}

  static async open(nc: NatsConnection, name: string, nodeId: string, ttlMs: number): Promise<KvLeaseStore> {
    const kvm = new Kvm(nc);
    // Three replicas on a clustered NATS so that losing one NATS server loses no lease. A JetStream cluster that
    // is still electing its leader refuses for a moment: retry rather than settle for one replica.
    const clustered = Boolean((nc.info as { cluster?: string } | undefined)?.cluster);
    const replicas = clustered ? 3 : 1;
    let kv: KV | null = null;
    let single = false;
    for (let attempt = 0; !kv; attempt++) {
      try {
        kv = await kvm.create(name, { ttl: ttlMs, history: 1, replicas: attempt > 0 && single ? 1 : replicas });
      } catch (err) {
        // A leaf node reports a cluster name but runs JetStream alone.
        if (/non-clustered|not supported in non-clustered/i.test((err as Error).message)) single = true;
        if (attempt >= 40) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const store = new KvLeaseStore(kv, nodeId);
    await store.watch();
    return store;
  }

  private async watch(): Promise<void> {
    const iter = await this.kv.watch({ key: ">" });
    this.watching = true;
    void (async () => {
      for await (const e of iter) {
        const shard = Number(e.key.slice(1));
        if (e.operation === "PUT") this.view.set(shard, { node: e.string(), revision: e.revision });
        else this.view.delete(shard);
      }
      this.watching = false;
    })();
  }

  get live(): boolean {
    return this.watching;
  }

  async acquire(shard: number): Promise<number | null> {
    try {
      return await this.kv.create(key(shard), this.nodeId);
    } catch (err) {
      if (isCasFailure(err)) return this.stealIfExpired(shard);
      throw err;
    }
  }

  async steal(shard: number, revision: number): Promise<number | null> {
    try {
      return await this.kv.update(key(shard), this.nodeId, revision);
    } catch (err) {
      if (!isCasFailure(err)) throw err;
      // TTL expiry sends no watch event: the key may simply be gone. Re-read it and take it if it is free.
      const e = await this.kv.get(key(shard));
      if (!e || e.operation !== "PUT") {
        this.view.delete(shard);
        try {
          return await this.kv.create(key(shard), this.nodeId);
        } catch (err2) {
          if (isCasFailure(err2)) return null;
          throw err2;
        }
      }
      this.view.set(shard, { node: e.string(), revision: e.revision });
      return null;
    }
  }

  async renew(shard: number, revision: number): Promise<number | null> {
    try {
      return await this.kv.update(key(shard), this.nodeId, revision);
    } catch (err) {
      if (isCasFailure(err)) return null;
      throw err;
    }
  }

  async release(shard: number, revision: number): Promise<void> {
    try {
      await this.kv.delete(key(shard), { previousSeq: revision });
    } catch (err) {
      if (!isCasFailure(err)) throw err;
    }
  }

  // A create can fail on a key whose last message aged out between our view and the call: read and retry once.
  private async stealIfExpired(shard: number): Promise<number | null> {
    const e = await this.kv.get(key(shard));
    if (!e || e.operation !== "PUT") {
      try {
        return await this.kv.create(key(shard), this.nodeId);
      } catch (err) {
        if (isCasFailure(err)) return null;
        throw err;
      }
    }
    return null;
  }
}

/** A compare-and-set that lost: JetStream's "wrong last sequence" API error (by class and code, not by text). */
function isCasFailure(err: unknown): boolean {
  if (!(err instanceof JetStreamApiError)) return false;
  return err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown;
}
