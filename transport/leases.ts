// The lease port the cluster's shard coordinator uses: take, renew, steal and give up a lease per shard, each with a
// revision that doubles as the fencing epoch; `view` is every node's current picture of who holds which shard.
export type Lease = { node: string; revision: number };

export interface LeaseStore {
  /** shard → current holder, kept current by a watch (expired leases vanish only when someone overwrites them). */
  readonly view: Map<number, Lease>;
  readonly live: boolean;
  /** Takes a free shard; returns the revision (epoch) or null when someone else holds it. */
  acquire(shard: number): Promise<number | null>;
  /** Replaces a lease only if it is still at `revision` (its holder stopped renewing). */
  steal(shard: number, revision: number): Promise<number | null>;
  /** Renews a held lease; null means it was taken (or expired and re-taken): ownership is lost. */
  renew(shard: number, revision: number): Promise<number | null>;
  /** Gives a shard up; only deletes it while it is still ours. */
  release(shard: number, revision: number): Promise<void>;
}

/** A transport that can also keep leases (NATS JetStream KV): what cluster mode needs. */
export interface LeaseProvider {
  openLeases(bucket: string, nodeId: string, ttlMs: number): Promise<LeaseStore>;
}
