// Peer-registrar mirroring for one node (issue 5, docs/federation.md): every node lists mirrored records and applies
// their events; the node that owns shard 0 also publishes, receives and runs anti-entropy (FederationLeader).
import type { RegistryEvent } from "../core/events.js";
import type { ServerRecord } from "../core/record.js";
import type { Transport } from "../../transport/transport.js";
import { onForeignEvents } from "../cluster/replica.js";
import type { Config } from "../config.js";
import type { Directory } from "../directory/directory.js";
import type { EventSequencer } from "../events/sequencer.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import type { Db } from "../store/db.js";
import { createFedMetrics } from "./fed-metrics.js";
import { FederationLeader } from "./leader.js";
import { claimSelf, loadMirrored } from "./mirror-store.js";
import { setMirroredTrust } from "./mirror-trust.js";
import { MirrorView } from "./mirror-view.js";

export type FederationDeps = {
  config: Config;
  transport: Transport;
  db: Db;
  directory: Directory;
  sequencer: EventSequencer;
  publish(ev: RegistryEvent): void;
  /** True on the node that should publish (the owner of shard 0, see docs/federation.md). */
  isLeader(): boolean;
  log: Logger;
  metrics: Metrics;
  onStoreError(err: unknown): void;
};

export type Federation = Awaited<ReturnType<typeof createFederation>>;

const LEADER_CHECK_MS = 250;

/**
 * Installs the conflict rule and the mirrored-event handler on the directory and loads the mirrored records.
 * Call after the directory holds this registrar's own records and before the cluster adopts shards.
 */
export async function createFederation(d: FederationDeps) {
  const self = d.config.registrarId;
  const fc = d.config.federation;
  await claimSelf(d.db, self);
  const view = new MirrorView(d.directory, self);
  d.directory.setArbiter(view.contest);
  onForeignEvents(d.directory, view.apply);
  const loaded: ServerRecord[] = [];
  const started = performance.now();
  await loadMirrored(d.db, (r) => loaded.push(r));
  view.load(loaded);
  d.log.info({ mirrored: loaded.length, losers: view.loserCount, ms: Math.round(performance.now() - started) }, "mirrored records loaded");
  loaded.length = 0;

  let leader: FederationLeader;
  const metrics = createFedMetrics(d.metrics.registry, {
    losers: () => view.loserCount,
    publisher: () => (leader.isReady ? 1 : 0),
    holdings: () => leader.holdings.size,
  });
  leader = new FederationLeader({
    self, peers: d.config.peers, antiEntropyMs: fc.antiEntropyMs, tombstoneTtlMs: fc.tombstoneTtlMs,
    maxChangesPerS: fc.maxChangesPerS, maxMessageBytes: fc.maxMessageBytes, maxRecordsPerOrigin: d.config.trust.fedMaxRecordsPerOrigin,
    transport: d.transport, db: d.db,
    sequencer: d.sequencer, publish: d.publish, view, metrics, log: d.log, onStoreError: d.onStoreError,
  });

  let timer: NodeJS.Timeout | null = null;
  let step: Promise<void> = Promise.resolve();
  // Leadership follows shard 0; transitions run one at a time.
  const check = () => {
    step = step.then(async () => {
      const want = d.isLeader();
      if (want && !leader.isActive) {
        try {
          await leader.begin();
        } catch (err) {
          d.onStoreError(err);
          await leader.end();
        }
      } else if (!want && leader.isActive) await leader.end();
    });
  };
  /** Stops publishing before the cluster hands its shards over. */
  const stop = async (): Promise<void> => {
    if (timer) clearInterval(timer);
    await step;
    await leader.end();
  };
  /** Re-checks of mirrored records (src/trust): this registrar's own verdict, written with an event (§8.6). */
  const proofs = {
    async proved(domain: string, origin: string, verifiedAtMs: number): Promise<void> {
      const ev = await setMirroredTrust(d.db, domain, origin, verifiedAtMs);
      if (ev) d.publish(ev);
    },
    async lapsed(domain: string, origin: string): Promise<void> {
      const ev = await setMirroredTrust(d.db, domain, origin, null);
      if (ev) d.publish(ev);
    },
  };
  return {
    view,
    leader,
    proofs,
    /** Starts following leadership (shard 0); the returned stop ends it. */
    start(): { stop(): Promise<void> } {
      timer = setInterval(check, LEADER_CHECK_MS);
      timer.unref();
      check();
      return { stop };
    },
    stop,
  };
}
