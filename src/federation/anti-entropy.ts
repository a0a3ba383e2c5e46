// Anti-entropy over request/reply (docs/federation.md): compare root, group and bucket hashes of what two
// registrars hold, list the entries of the buckets that differ, fetch only the records that are newer there.
import { fedSubjects } from "../../transport/subjects.js";
import type { Subscription, Transport } from "../../transport/transport.js";
import type { Holding, Holdings } from "./holdings.js";
import { bucketOf, supersedes } from "./holdings.js";
import type { Incoming } from "./mirror-store.js";
import { refusal, type TrustPolicy } from "./trust.js";
import {
  decode, DigestReply, DigestRequest, encode, EntriesReply, EntriesRequest, ErrorReply, GROUP_SIZE, GROUPS, MAX_BUCKETS_PER_REQUEST,
  MAX_KEYS_PER_REQUEST, RecordsReply, RecordsRequest, WIRE_VERSION, DecodeError, type Entry, type FedChange,
} from "./wire.js";
import type { z } from "zod";

// Room for the envelope around a reply's items.
const ENVELOPE_BYTES = 1024;
/** Requests answered at once; more are refused with "busy" (a flood of requests cannot pile up MySQL reads). */
const MAX_IN_FLIGHT = 4;

export type SyncServerDeps = {
  transport: Transport;
  self: string;
  holdings: Holdings;
  maxBytes: number;
  /** The snapshot of one of this registrar's own records at its held version; null while not yet applied here. */
  ownSnapshot(domain: string, h: Holding): FedChange | null;
  mirroredSnapshots(keys: [string, string][]): Promise<FedChange[]>;
  onBytes(direction: "sent" | "received", bytes: number): void;
  onBadRequest(subject: string, reason: string): void;
};

/** Answers peers' digest, entries and records requests on this registrar's sync subjects. */
export function serveSync(d: SyncServerDeps): Subscription[] {
  const s = fedSubjects(d.self);
  let inFlight = 0;
  const serve = <Q>(subject: string, schema: z.ZodType<Q>, answer: (q: Q) => Promise<unknown> | unknown): Subscription =>
    d.transport.serve(subject, async (data) => {
      d.onBytes("received", data.byteLength);
      let reply: Uint8Array;
      if (inFlight >= MAX_IN_FLIGHT) {
        reply = encode({ v: WIRE_VERSION, error: "busy" } satisfies z.infer<typeof ErrorReply>);
      } else {
        inFlight++;
        try {
          reply = encode(await answer(decode(schema, data, d.maxBytes)));
        } catch (err) {
          if (!(err instanceof DecodeError)) throw err;
          d.onBadRequest(subject, err.reason);
          reply = encode({ v: WIRE_VERSION, error: err.reason } satisfies z.infer<typeof ErrorReply>);
        } finally {
          inFlight--;
        }
      }
      d.onBytes("sent", reply.byteLength);
      return reply;
    });
  return [
    serve(s.digest, DigestRequest, (q) => digestReply(d.holdings, q)),
    serve(s.entries, EntriesRequest, (q) => entriesReply(d.holdings, q, d.maxBytes)),
    serve(s.records, RecordsRequest, (q) => recordsReply(d, q)),
  ];
}

function digestReply(h: Holdings, q: DigestRequest): DigestReply {
  const root = h.root();
  if (q.groups) return { v: WIRE_VERSION, root, buckets: q.groups.map((g) => ({ g, h: h.bucketHashes(g).toString("base64") })) };
  if (q.root === root) return { v: WIRE_VERSION, root, same: true };
  return { v: WIRE_VERSION, root, groups: h.groupHashes().toString("base64") };
}

function entriesReply(h: Holdings, q: EntriesRequest, maxBytes: number): EntriesReply {
  const buckets: EntriesReply["buckets"] = [];
  let bytes = ENVELOPE_BYTES;
  for (const b of q.buckets) {
    const e = h.entries(b);
    const size = JSON.stringify(e).length + 16;
    if (bytes + size > maxBytes) {
      if (buckets.length === 0) throw new DecodeError("too_large", `bucket ${b} does not fit in one reply`);
      break;
    }
    bytes += size;
    buckets.push({ b, e });
  }
  return { v: WIRE_VERSION, own: h.ownWatermark, buckets };
}

async function recordsReply(d: SyncServerDeps, q: RecordsRequest): Promise<RecordsReply> {
  const records: FedChange[] = [];
  const missing: [string, string][] = [];
  const mirrored: [string, string][] = [];
  for (const [domain, origin] of q.keys) {
    const h = d.holdings.get(domain, origin);
    if (!h) missing.push([domain, origin]);
    else if (origin !== d.self) mirrored.push([domain, origin]);
    else {
      const snap = d.ownSnapshot(domain, h);
      if (snap) records.push(snap);
    }
  }
  records.push(...(await d.mirroredSnapshots(mirrored)));
  // Keep what fits; the requester asks again for the rest.
  let bytes = ENVELOPE_BYTES + JSON.stringify(missing).length;
  const fitting: FedChange[] = [];
  for (const r of records) {
    const size = JSON.stringify(r).length + 1;
    if (bytes + size > d.maxBytes) break;
    bytes += size;
    fitting.push(r);
  }
  return { v: WIRE_VERSION, records: fitting, missing };
}

export type SyncClientDeps = {
  transport: Transport;
  policy: TrustPolicy;
  holdings: Holdings;
  maxBytes: number;
  timeoutMs: number;
  /** Hands fetched changes (and purges) to the apply loop; resolves when it has room for more. */
  apply(items: Incoming[]): Promise<void>;
  onBytes(direction: "sent" | "received", bytes: number): void;
  /** A change the trust rule refused (counted like live ones). */
  refused(reason: string, change: FedChange): void;
};

export type RoundResult = {
  peer: string;
  inSync: boolean;
  bytes: number;
  buckets: number;
  fetched: number;
  purged: number;
  ms: number;
};

/** One anti-entropy round with `peer`; throws on transport errors or a malformed reply (the round is retried later). */
export async function syncWith(peer: string, d: SyncClientDeps): Promise<RoundResult> {
  const started = performance.now();
  const s = fedSubjects(peer);
  let bytes = 0;
  const ask = async <R>(subject: string, q: unknown, schema: z.ZodType<R>): Promise<R> => {
    const data = encode(q);
    d.onBytes("sent", data.byteLength);
    const reply = await d.transport.request(subject, data, d.timeoutMs);
    d.onBytes("received", reply.byteLength);
    bytes += data.byteLength + reply.byteLength;
    const refused = reply.byteLength < 512 ? errorOf(reply, 512) : null;
    if (refused) throw new Error(`${peer} refused the request: ${refused}`);
    return decode(schema, reply, d.maxBytes);
  };
  const result = (inSync: boolean, buckets = 0, fetched = 0, purged = 0): RoundResult => ({
    peer, inSync, bytes, buckets, fetched, purged, ms: Math.round(performance.now() - started),
  });

  const top = await ask(s.digest, { v: WIRE_VERSION, root: d.holdings.root() }, DigestReply);
  if (top.same || top.root === d.holdings.root()) return result(true);
  if (!top.groups) throw new DecodeError("invalid", "digest reply without groups");
  const theirGroups = Buffer.from(top.groups, "base64");
  const ourGroups = d.holdings.groupHashes();
  const groups: number[] = [];
  for (let g = 0; g < GROUPS; g++) if (!theirGroups.subarray(g * 8, g * 8 + 8).equals(ourGroups.subarray(g * 8, g * 8 + 8))) groups.push(g);

  const buckets: number[] = [];
  if (groups.length > 0) {
    const detail = await ask(s.digest, { v: WIRE_VERSION, groups }, DigestReply);
    for (const { g, h } of detail.buckets ?? []) {
      const theirs = Buffer.from(h, "base64");
      const ours = d.holdings.bucketHashes(g);
      for (let i = 0; i < GROUP_SIZE; i++) if (!theirs.subarray(i * 8, i * 8 + 8).equals(ours.subarray(i * 8, i * 8 + 8))) buckets.push(g * GROUP_SIZE + i);
    }
  }

  let fetched = 0;
  let purged = 0;
  const pending = [...buckets];
  while (pending.length > 0) {
    const ask1 = pending.slice(0, MAX_BUCKETS_PER_REQUEST);
    const reply = await ask(s.entries, { v: WIRE_VERSION, buckets: ask1 }, EntriesReply);
    if (reply.buckets.length === 0) throw new DecodeError("invalid", "entries reply answered no bucket");
    const answered = new Set(reply.buckets.map((b) => b.b));
    for (let i = pending.length - 1; i >= 0; i--) if (answered.has(pending[i])) pending.splice(i, 1);
    const { need, purge } = compare(peer, reply, d);
    purged += purge.length;
    if (purge.length > 0) await d.apply(purge);
    fetched += await fetchRecords(peer, need, d, ask);
  }
  return result(false, buckets.length, fetched, purged);
}

/** What to fetch from the peer, and which of its records the peer (their origin) no longer has. */
function compare(peer: string, reply: EntriesReply, d: SyncClientDeps): { need: [string, string][]; purge: Incoming[] } {
  const need: [string, string][] = [];
  const purge: Incoming[] = [];
  for (const { b, e } of reply.buckets) {
    const theirs = new Set<string>();
    for (const [domain, origin, version, deleted] of e as Entry[]) {
      theirs.add(`${domain} ${origin}`);
      if (origin === d.policy.self) continue;
      if (bucketOf(domain) !== b) continue;
      const mine = d.holdings.get(domain, origin);
      if (mine && !supersedes(version, deleted === 1, mine.version, mine.deleted)) continue;
      if (origin !== peer && d.policy.peers.has(origin)) continue; // first-hand only
      need.push([domain, origin]);
    }
    // The origin is authoritative for its own records: a live record of the peer's origin that we hold at a version
    // the peer has already issued, but that the peer lists neither live nor as a tombstone, is gone there (its
    // tombstone expired before we heard of the removal).
    for (const [domain, origin, version, deleted] of d.holdings.entries(b)) {
      if (origin !== peer || deleted === 1 || version > reply.own || theirs.has(`${domain} ${origin}`)) continue;
      purge.push({ change: { domain, origin, version, at: new Date().toISOString(), deleted: true }, via: peer, purge: true });
    }
  }
  return { need, purge };
}

async function fetchRecords(
  peer: string,
  keys: [string, string][],
  d: SyncClientDeps,
  ask: <R>(subject: string, q: unknown, schema: z.ZodType<R>) => Promise<R>,
): Promise<number> {
  const s = fedSubjects(peer);
  let fetched = 0;
  let pending = keys;
  while (pending.length > 0) {
    const chunk = pending.slice(0, MAX_KEYS_PER_REQUEST);
    const reply = await ask(s.records, { v: WIRE_VERSION, keys: chunk }, RecordsReply);
    const answered = new Set([...reply.records.map((r) => `${r.domain} ${r.origin}`), ...reply.missing.map(([a, b]) => `${a} ${b}`)]);
    const asked = new Set(chunk.map(([a, b]) => `${a} ${b}`));
    const items: Incoming[] = [];
    for (const change of reply.records) {
      if (!asked.has(`${change.domain} ${change.origin}`)) continue;
      const why = refusal(change, peer, "sync", d.policy);
      if (why) d.refused(why, change);
      else items.push({ change, via: peer });
    }
    fetched += items.length;
    if (items.length > 0) await d.apply(items);
    const rest = chunk.filter(([a, b]) => !answered.has(`${a} ${b}`));
    // Nothing of this chunk answered: the peer cannot serve these now (not yet applied there); the next round retries.
    pending = rest.length === chunk.length ? pending.slice(chunk.length) : [...rest, ...pending.slice(chunk.length)];
  }
  return fetched;
}

/** The reason of an error reply ({"v":1,"error":…}), else null. */
function errorOf(reply: Uint8Array, maxBytes: number): string | null {
  try {
    return decode(ErrorReply, reply, maxBytes).error;
  } catch (err) {
    if (err instanceof DecodeError) return null;
    throw err;
  }
}
