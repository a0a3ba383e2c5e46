// The federation work of the one node that publishes for this registrar: own changes out, peers' changes in
// through the apply queue, anti-entropy as requester (per peer, periodic and on demand) and as responder.
import type { RegistryEvent } from "../core/events.js";
import type { Subscription, Transport } from "../../transport/transport.js";
import type { EventSequencer } from "../events/sequencer.js";
import type { Logger } from "../log.js";
import type { Db } from "../store/db.js";
import { serveSync, syncWith } from "./anti-entropy.js";
import { ApplyQueue } from "./apply-queue.js";
import type { FedMetrics } from "./fed-metrics.js";
import { Holdings } from "./holdings.js";
import { applyChanges, loadHoldings, pruneTombstones, readSnapshots, snapshot, type ApplyResult, type Incoming } from "./mirror-store.js";
import type { MirrorView } from "./mirror-view.js";
import { OwnChallenges } from "./own-challenges.js";
import { ChangePublisher } from "./publisher.js";
import { LiveReceiver } from "./receiver.js";
import { relayPath, type TrustPolicy } from "./trust.js";
import type { FedChange } from "./wire.js";

export const LEADER_DEFAULTS = {
  applyBatch: 500,
  queueLimit: 50_000,
  requestTimeoutMs: 5000,
  /** Coalesces bursts of "something may be missing" into one round. */
  syncDebounceMs: 200,
  linkWatchMs: 500,
  /** Warn about drops at most this often per (peer, reason); the counter has every one. */
  dropLogEveryMs: 10_000,
} as const;

export type LeaderDeps = {
  self: string;
  peers: readonly string[];
  antiEntropyMs: number;
  tombstoneTtlMs: number;
  maxChangesPerS: number;
  maxMessageBytes: number;
  /** FED_MAX_RECORDS_PER_ORIGIN (contract §8.6). */
  maxRecordsPerOrigin: number;
  transport: Transport;
  db: Db;
  sequencer: EventSequencer;
  publish(ev: RegistryEvent): void;
  view: MirrorView;
  metrics: FedMetrics;
  log: Logger;
  onStoreError(err: unknown): void;
};

type PeerSync = { running: boolean; again: boolean; timer: NodeJS.Timeout | null; failures: number };

export class FederationLeader {
  readonly holdings: Holdings;
  private active = false;
  private ready = false;
  private publisher: ChangePublisher | null = null;
  private receiver: LiveReceiver | null = null;
  private serving: Subscription[] = [];
  private stopListening: (() => void) | null = null;
  private timers: NodeJS.Timeout[] = [];
  private readonly queue: ApplyQueue;
  private readonly sync = new Map<string, PeerSync>();
  private readonly policy: TrustPolicy;
  private readonly dropLog = new Map<string, { atMs: number; suppressed: number }>();
  private readonly lastRound = new Map<string, number>();
  private readonly challenges: OwnChallenges;
  /** Own events wait here in order while a record's challenge is re-read (then everything behind it waits too). */
  private ownChain: Promise<void> | null = null;
  private ownPending = 0;

  constructor(private readonly d: LeaderDeps) {
    this.holdings = new Holdings(d.self);
    this.challenges = new OwnChallenges(d.db, d.self);
    this.policy = { self: d.self, peers: new Set(d.peers) };
    this.queue = new ApplyQueue(LEADER_DEFAULTS.queueLimit, LEADER_DEFAULTS.applyBatch, (batch) => this.applyBatch(batch));
    for (const p of d.peers) this.sync.set(p, { running: false, again: false, timer: null, failures: 0 });
  }

  get isActive(): boolean {
    return this.active;
  }

  /** Publishing, receiving and serving anti-entropy (begin() has finished). */
  get isReady(): boolean {
    return this.ready;
  }

  async begin(): Promise<void> {
    const d = this.d;
    this.active = true;
    this.holdings.clear();
    // Listen first, then load: holdings keep the highest version whichever arrives first.
    this.stopListening = d.sequencer.listen((ev) => this.onLocalEvent(ev));
    await loadHoldings(d.db, this.holdings, d.self);
    await this.challenges.load();
    if (!this.active) return;
    this.publisher = new ChangePublisher(d.transport, d.self, d.peers, d.maxMessageBytes, (n, bytes) => {
      d.metrics.published.inc(n);
      d.metrics.publishedBytes.inc(bytes);
    });
    this.receiver = new LiveReceiver({
      transport: d.transport, policy: this.policy, peers: d.peers, maxBytes: d.maxMessageBytes, maxChangesPerS: d.maxChangesPerS,
      deliver: (items) => this.queue.offer(items),
      needSync: (peer) => this.requestSync(peer, LEADER_DEFAULTS.syncDebounceMs),
      dropped: (reason, peer, detail, count) => this.dropped(reason, peer, detail, count),
      ignored: (reason, count) => d.metrics.ignored.labels(reason).inc(count),
      received: (peer, n) => d.metrics.received.labels(peer).inc(n),
    });
    this.receiver.start();
    this.serving = serveSync({
      transport: d.transport, self: d.self, holdings: this.holdings, maxBytes: d.maxMessageBytes,
      ownSnapshot: (domain, h) => this.ownSnapshot(domain, h.version, h.deleted, h.atMs),
      mirroredSnapshots: (keys) => readSnapshots(d.db, keys),
      onBytes: (dir, n) => d.metrics.syncBytes.labels("responder", dir).inc(n),
      onBadRequest: (subject, reason) => this.dropped(reason, "sync-requester", `bad request on ${subject}`, 1),
    });
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    // Periodic rounds, jittered per round so peers' rounds do not line up.
    for (const peer of d.peers) this.requestSync(peer, 0);
    every(Math.max(250, Math.round(d.antiEntropyMs / 4)), () => this.periodic());
    every(Math.min(600_000, Math.max(1000, Math.round(d.tombstoneTtlMs / 10))), () => void this.prune());
    let linkUp = d.transport.health() !== "down";
    every(LEADER_DEFAULTS.linkWatchMs, () => {
      const up = d.transport.health() !== "down";
      if (up && !linkUp) for (const peer of d.peers) this.requestSync(peer, LEADER_DEFAULTS.syncDebounceMs);
      linkUp = up;
    });
    this.ready = true;
    d.log.info({ peers: d.peers, holdings: this.holdings.size }, "federation publisher started");
  }

  async end(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    this.ready = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    for (const st of this.sync.values()) if (st.timer) clearTimeout(st.timer), (st.timer = null);
    this.receiver?.stop();
    for (const s of this.serving) s.unsubscribe();
    this.serving = [];
    this.stopListening?.();
    this.publisher?.flush();
    await this.queue.close();
    this.holdings.clear();
    this.d.log.info("federation publisher stopped");
  }

  // Own changes, in seq order, as snapshots at the event's seq (the directory already reflects that event).
  private onLocalEvent(ev: RegistryEvent): void {
    if (ev.origin !== this.d.self) return;
    // Only a record's own events carry its verified_at; status and rating events never change the proof.
    const record = ev.type === "server.registered" || ev.type === "server.updated";
    const stale = record && this.challenges.current(ev.domain, (ev.data.verified_at as string | null | undefined) ?? null) === undefined;
    if (!stale && this.ownPending === 0) return this.publishOwn(ev);
    // The record's proof changed (or this copy is behind): read its challenge, keeping the order of own changes.
    this.ownPending++;
    this.ownChain = (this.ownChain ?? Promise.resolve())
      .then(async () => {
        if (stale) await this.challenges.refresh(ev.domain);
        this.publishOwn(ev);
      })
      .catch((err) => this.d.onStoreError(err))
      .finally(() => {
        if (--this.ownPending === 0) this.ownChain = null;
      });
  }

  private publishOwn(ev: RegistryEvent): void {
    const deleted = ev.type === "server.removed";
    if (deleted) this.challenges.forget(ev.domain);
    this.holdings.put(ev.domain, this.d.self, ev.seq, deleted, Date.parse(ev.at));
    const change = this.ownSnapshot(ev.domain, ev.seq, deleted, Date.parse(ev.at));
    if (change) this.publisher?.own(change);
  }

  private ownSnapshot(domain: string, version: number, deleted: boolean, atMs: number): FedChange | null {
    // A version the sequencer has not delivered yet: the record here may still be older than it.
    if (version > this.d.sequencer.last) return null;
    const at = new Date(atMs).toISOString();
    if (deleted) return snapshot(domain, this.d.self, version, at, null);
    const rec = this.d.view.find(domain, this.d.self);
    if (!rec) return null;
    const pub = rec.toPublic() as FedChange["server"] & object;
    return snapshot(domain, this.d.self, version, at, pub, this.challenges.current(domain, pub.verified_at ?? null) ?? undefined);
  }

  private async applyBatch(batch: Incoming[]): Promise<void> {
    let result: ApplyResult;
    const started = performance.now();
    try {
      result = await applyChanges(this.d.db, batch, this.d.self, this.d.maxRecordsPerOrigin);
    } catch (err) {
      this.d.onStoreError(err);
      // Lost here, fetched again by anti-entropy once MySQL answers.
      for (const peer of new Set(batch.map((i) => i.via))) this.requestSync(peer, 2000);
      return;
    }
    const committed = performance.now();
    this.d.metrics.applySeconds.labels("commit").observe((committed - started) / 1000);
    const now = Date.now();
    for (const a of result.applied) {
      for (const ev of a.events) this.d.publish(ev);
      const c = a.change;
      this.holdings.put(c.domain, c.origin, c.version, c.deleted, Date.parse(c.at));
      if (a.live) this.d.metrics.lag.observe(Math.max(0, now - Date.parse(c.at)) / 1000);
      this.d.metrics.applied.labels(a.purged ? "purge" : a.live ? "live" : "sync").inc();
      // Purges travel as tombstones too, so a peer further down the chain drops the record as well.
      const { path: _path, ...bare } = c;
      this.publisher?.relay(bare, relayPath(c, a.via, this.d.self));
    }
    this.d.metrics.applySeconds.labels("publish").observe((performance.now() - committed) / 1000);
    for (const [origin, n] of result.overQuota) this.dropped("over_quota", origin, `${n} new records of ${origin} over FED_MAX_RECORDS_PER_ORIGIN`, n);
    for (const s of result.stale) this.holdings.put(s.domain, s.origin, s.version, s.deleted, s.atMs);
    this.d.metrics.stale.inc(result.stale.length);
    for (const c of result.conflicts) {
      this.d.metrics.conflicts.inc();
      this.d.log.warn({ domain: c.domain, winner: c.winner, losers: c.losers }, "domain registered at several registrars");
    }
  }

  /** Runs a round with `peer` after `delayMs`, or once more after the running one. */
  requestSync(peer: string, delayMs: number): void {
    const st = this.sync.get(peer);
    if (!st || !this.active) return;
    if (st.running) {
      st.again = true;
      return;
    }
    if (st.timer) return;
    st.timer = setTimeout(() => {
      st.timer = null;
      void this.runSync(peer, st);
    }, delayMs);
    st.timer.unref();
  }

  private periodic(): void {
    const now = Date.now();
    for (const peer of this.d.peers) {
      const jitter = 0.8 + Math.random() * 0.4;
      if (now - (this.lastRound.get(peer) ?? 0) >= this.d.antiEntropyMs * jitter) this.requestSync(peer, 0);
    }
  }

  private async runSync(peer: string, st: PeerSync): Promise<void> {
    if (!this.active) return;
    st.running = true;
    st.again = false;
    this.lastRound.set(peer, Date.now());
    const m = this.d.metrics;
    try {
      const r = await syncWith(peer, {
        transport: this.d.transport, policy: this.policy, holdings: this.holdings, maxBytes: this.d.maxMessageBytes,
        timeoutMs: LEADER_DEFAULTS.requestTimeoutMs,
        apply: (items) => this.queue.put(items),
        onBytes: (dir, n) => m.syncBytes.labels("requester", dir).inc(n),
        refused: (reason, change) =>
          reason === "own_origin" || reason === "first_hand_only" ? m.ignored.labels(reason).inc() : this.dropped(reason, peer, `${change.domain} of ${change.origin} via sync`, 1),
      });
      await this.queue.idle();
      m.rounds.labels(r.inSync ? "in_sync" : "repaired").inc();
      if (!r.inSync) this.d.log.info(r, "anti-entropy round");
      st.failures = 0;
      // Something was fetched: confirm with another round (the digests should now match).
      if (r.fetched + r.purged > 0) st.again = true;
    } catch (err) {
      m.rounds.labels("failed").inc();
      st.failures++;
      const log = st.failures === 1 ? this.d.log.warn.bind(this.d.log) : this.d.log.debug.bind(this.d.log);
      log({ peer, err, failures: st.failures }, "anti-entropy round failed");
    } finally {
      st.running = false;
      if (st.failures > 0) {
        // Retry sooner than the period while a peer is unreachable, backing off to the period.
        this.requestSync(peer, Math.min(this.d.antiEntropyMs, 500 * 2 ** Math.min(st.failures, 6)));
      } else if (st.again) this.requestSync(peer, LEADER_DEFAULTS.syncDebounceMs);
    }
  }

  private async prune(): Promise<void> {
    const cutoff = Date.now() - this.d.tombstoneTtlMs;
    this.holdings.pruneTombstones(cutoff);
    try {
      await pruneTombstones(this.d.db, cutoff);
    } catch (err) {
      this.d.onStoreError(err);
    }
  }

  private dropped(reason: string, peer: string, detail: string, count: number): void {
    this.d.metrics.dropped.labels(reason).inc(count);
    const key = `${peer} ${reason}`;
    const now = Date.now();
    const seen = this.dropLog.get(key);
    if (seen && now - seen.atMs < LEADER_DEFAULTS.dropLogEveryMs) {
      seen.suppressed += count;
      return;
    }
    this.dropLog.set(key, { atMs: now, suppressed: 0 });
    this.d.log.warn({ peer, reason, detail, count, suppressed_since_last: seen?.suppressed ?? 0 }, "federation message dropped");
  }
}
