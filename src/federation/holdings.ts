// What this registrar holds, as anti-entropy compares it: (domain, origin) → (version, deleted), hashed into
// BUCKETS leaf buckets by domain, 64-bit XOR set hashes per bucket, per group of buckets and for the root, all
// kept incrementally so a digest costs nothing to compute however large the directory is.
import { createHash } from "node:crypto";
import { hash32 } from "../../actors/shards.js";
import { BUCKETS, GROUP_SIZE, GROUPS, type Entry } from "./wire.js";

export type Holding = { version: number; deleted: boolean; atMs: number; h0: number; h1: number };

export function bucketOf(domain: string): number {
  return hash32(domain) % BUCKETS;
}

const keyOf = (domain: string, origin: string) => `${domain} ${origin}`;

function entryHash(domain: string, origin: string, version: number, deleted: boolean): [number, number] {
  const d = createHash("sha1").update(`${domain}\n${origin}\n${version}\n${deleted ? 1 : 0}`).digest();
  return [d.readUInt32BE(0), d.readUInt32BE(4)];
}

export class Holdings {
  private readonly map = new Map<string, Holding>();
  private readonly byBucket: (Set<string> | undefined)[] = new Array(BUCKETS);
  private readonly bucketHash = new Uint32Array(BUCKETS * 2);
  private readonly groupHash = new Uint32Array(GROUPS * 2);
  private rootHash = new Uint32Array(2);
  /** Highest version of this registrar's own records seen (for the origin-authoritative check, docs/federation.md). */
  ownWatermark = 0;

  constructor(private readonly self: string) {}

  get size(): number {
    return this.map.size;
  }

  get(domain: string, origin: string): Holding | undefined {
    return this.map.get(keyOf(domain, origin));
  }

  /** Records (domain, origin) at version; ignored unless it supersedes what is held. Returns whether it changed. */
  put(domain: string, origin: string, version: number, deleted: boolean, atMs: number): boolean {
    if (origin === this.self && version > this.ownWatermark) this.ownWatermark = version;
    const key = keyOf(domain, origin);
    const prior = this.map.get(key);
    if (prior && !supersedes(version, deleted, prior.version, prior.deleted)) return false;
    const bucket = bucketOf(domain);
    if (prior) this.xor(bucket, prior.h0, prior.h1);
    const [h0, h1] = entryHash(domain, origin, version, deleted);
    this.xor(bucket, h0, h1);
    this.map.set(key, { version, deleted, atMs, h0, h1 });
    let set = this.byBucket[bucket];
    if (!set) this.byBucket[bucket] = set = new Set();
    set.add(key);
    return true;
  }

  /** Forgets (domain, origin) entirely (an expired tombstone, or a record its origin no longer has). */
  delete(domain: string, origin: string): void {
    const key = keyOf(domain, origin);
    const prior = this.map.get(key);
    if (!prior) return;
    const bucket = bucketOf(domain);
    this.xor(bucket, prior.h0, prior.h1);
    this.map.delete(key);
    this.byBucket[bucket]?.delete(key);
  }

  /** Drops tombstones changed before `cutoffMs`; returns how many. */
  pruneTombstones(cutoffMs: number): number {
    let n = 0;
    for (const [key, h] of this.map) {
      if (!h.deleted || h.atMs >= cutoffMs) continue;
      const [domain, origin] = key.split(" ");
      this.delete(domain, origin);
      n++;
    }
    return n;
  }

  clear(): void {
    this.map.clear();
    this.byBucket.fill(undefined);
    this.bucketHash.fill(0);
    this.groupHash.fill(0);
    this.rootHash = new Uint32Array(2);
    this.ownWatermark = 0;
  }

  root(): string {
    return hex(this.rootHash, 0, 1);
  }

  /** GROUPS × 8 bytes. */
  groupHashes(): Buffer {
    return Buffer.from(new Uint8Array(toBytes(this.groupHash, 0, GROUPS)));
  }

  /** GROUP_SIZE × 8 bytes for the buckets of one group. */
  bucketHashes(group: number): Buffer {
    return Buffer.from(new Uint8Array(toBytes(this.bucketHash, group * GROUP_SIZE, GROUP_SIZE)));
  }

  entries(bucket: number): Entry[] {
    const out: Entry[] = [];
    for (const key of this.byBucket[bucket] ?? []) {
      const h = this.map.get(key)!;
      const [domain, origin] = key.split(" ");
      out.push([domain, origin, h.version, h.deleted ? 1 : 0]);
    }
    return out;
  }

  private xor(bucket: number, h0: number, h1: number): void {
    const g = Math.floor(bucket / GROUP_SIZE);
    this.bucketHash[bucket * 2] ^= h0;
    this.bucketHash[bucket * 2 + 1] ^= h1;
    this.groupHash[g * 2] ^= h0;
    this.groupHash[g * 2 + 1] ^= h1;
    this.rootHash[0] ^= h0;
    this.rootHash[1] ^= h1;
  }
}

/**
 * The order of states of one record: a higher version wins; at equal versions a tombstone beats a live record (the
 * origin never issues both at one version; only a purge, docs/federation.md, turns a live version into a tombstone).
 */
export function supersedes(version: number, deleted: boolean, priorVersion: number, priorDeleted: boolean): boolean {
  return version > priorVersion || (version === priorVersion && deleted && !priorDeleted);
}

/** Big-endian bytes of `count` 64-bit hashes stored as uint32 pairs from index `from`. */
function toBytes(arr: Uint32Array, from: number, count: number): number[] {
  const out = new Array<number>(count * 8);
  for (let i = 0; i < count * 2; i++) {
    const v = arr[(from * 2) + i];
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = (v >>> 16) & 255;
    out[i * 4 + 2] = (v >>> 8) & 255;
    out[i * 4 + 3] = v & 255;
  }
  return out;
}

function hex(arr: Uint32Array, from: number, count: number): string {
  return Buffer.from(toBytes(arr, from, count)).toString("hex");
}
