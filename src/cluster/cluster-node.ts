// Cluster mode wiring: leases, membership, liveness gossip, the local actors fenced by shard ownership, the replica
// that follows other nodes' events, degraded mode and the edge that routes commands to shard owners.
import type { EventSink, LivenessSink } from "../../actors/ports.js";
import { ServerActors, type ActorSettings } from "../../actors/server-actors.js";
import { systemClock } from "../../actors/clock.js";
import type { OnDrop } from "../../transport/codec.js";
import type { LeaseProvider } from "../../transport/leases.js";
import { subjects } from "../../transport/subjects.js";
import type { Transport } from "../../transport/transport.js";
import type { Config } from "../config.js";
import type { Directory } from "../directory/directory.js";
import type { EventSequencer } from "../events/sequencer.js";
import type { Logger } from "../log.js";
import type { Db } from "../store/db.js";
import type { ServersRepo } from "../store/servers-repo.js";
import type { WriteBehind } from "../store/write-behind.js";
import { ClusterActors } from "./cluster-actors.js";
import { ShardCoordinator } from "./coordinator.js";
import { DegradedActors } from "./degraded-actors.js";
import { BeatForwarder, serveBeats } from "./forwarded-beats.js";
import { LivenessGossip } from "./liveness-gossip.js";
import { Membership } from "./membership.js";
import { applyEvent } from "./replica.js";
import { pickUpWithRetry } from "../events/stored-writes.js";
import { claimEpoch } from "./shard-store.js";
import { ShardRecords } from "./shard-records.js";

export const CLUSTER_DEFAULTS = {
  leaseTtlMs: 5000,
  renewMs: 1000,
  staleMs: 2500,
  tickMs: 200,
  requestTimeoutMs: 2000,
  retryBudgetMs: 8000,
  /** Grace for overdue deadlines of a shard that just moved: the takeover window. */
  takeoverGraceMs: 5000,
  catchUpEveryMs: 2000,
  /** Longest wait of an edge for its own directory to show a write its shard owner committed. */
  readYourWritesMs: 1000,
} as const;

export type ClusterDeps = {
  config: Config;
  transport: Transport;
  leases: LeaseProvider;
  db: Db;
  directory: Directory;
  sequencer: EventSequencer;
  events: EventSink;
  repo: ServersRepo;
  writeBehind: WriteBehind;
  settings: ActorSettings;
  log: Logger;
  onStoreError: (op: string) => (err: unknown) => void;
  onMailboxLatency: (s: number) => void;
  /** Heartbeats per batch this node forwards to an owner node. */
  onBeatBatch: (size: number) => void;
  onDrop: OnDrop;
};

export async function createCluster(d: ClusterDeps) {
  const { config, transport, directory, log } = d;
  const subj = subjects(config.clusterId);
  const leases = await d.leases.openLeases(subj.leaseBucket, config.nodeId, CLUSTER_DEFAULTS.leaseTtlMs);
  const records = new ShardRecords(directory, config.registrarId, config.shards);
  // Hooks and callbacks below run only after start(), once every const here is initialised.
  const membership = new Membership(transport, subj.gossip, config.nodeId, () => ({ shards: coordinator.shardsOwned, servers: directory.size }), d.onDrop);
  const gossip = new LivenessGossip(transport, subj.liveness, directory, (domain) => coordinator.ownsDomain(domain), d.onDrop);
  const coordinator: ShardCoordinator = new ShardCoordinator(
    { nodeId: config.nodeId, shards: config.shards, tickMs: CLUSTER_DEFAULTS.tickMs, renewMs: CLUSTER_DEFAULTS.renewMs, staleMs: CLUSTER_DEFAULTS.staleMs, leaseTtlMs: CLUSTER_DEFAULTS.leaseTtlMs },
    leases,
    membership,
    {
      async acquired(shard) {
        const epoch = await claimEpoch(d.db, shard, config.nodeId);
        // Every event the previous owner committed must be in our directory before we load the shard.
        await d.sequencer.catchUp();
        const gone = await d.repo.reloadOwnerState(records.of(shard));
        for (const domain of gone) {
          const r = directory.get(domain);
          if (r) directory.remove(r);
        }
        return epoch;
      },
      serving(shard) {
        local.adopt(records.of(shard), CLUSTER_DEFAULTS.takeoverGraceMs);
        edge.serve(shard);
      },
      async releasing(shard) {
        edge.unserve(shard);
        await local.quiesce();
        await local.statusSync.flush();
        await d.writeBehind.flush();
        gossip.flush();
        local.release(records.of(shard));
      },
      lost(shard) {
        edge.unserve(shard);
        local.release(records.of(shard));
      },
      onError(err, what) {
        log.warn({ err, what }, "shard ownership step failed");
      },
    },
  );

  const liveness: LivenessSink = {
    markDirty(rec) {
      d.writeBehind.markDirty(rec);
      gossip.markDirty(rec);
    },
  };
  const local = new ServerActors(d.settings, directory, d.repo, d.events, liveness, systemClock, d.onStoreError("status"), coordinator);
  // Degraded mode gets its own actor instance: no fence, no timers, tokens re-read from MySQL.
  const unfenced = new ServerActors(d.settings, directory, d.repo, d.events, liveness, systemClock, d.onStoreError("degraded"));
  const degraded = new DegradedActors(unfenced, directory, d.repo, config.registrarId);
  const beats = new BeatForwarder({
    transport,
    // The coordinator works out every shard's preferred owner each tick and on every membership change.
    presumedOwner: (shard) => coordinator.presumedOwner(shard),
    nodeId: config.nodeId,
    shards: config.shards,
    subject: subj.beats,
    requestTimeoutMs: CLUSTER_DEFAULTS.requestTimeoutMs,
    onBatch: d.onBeatBatch,
    onLatency: d.onMailboxLatency,
    onDrop: d.onDrop,
  });
  const edge = new ClusterActors(
    local,
    (shard) => coordinator.accepts(shard),
    transport,
    subj.shard,
    { shards: config.shards, requestTimeoutMs: CLUSTER_DEFAULTS.requestTimeoutMs, retryBudgetMs: CLUSTER_DEFAULTS.retryBudgetMs },
    degraded,
    d.onMailboxLatency,
    d.onDrop,
    (seq) => d.sequencer.reach(seq, CLUSTER_DEFAULTS.readYourWritesMs),
    beats,
  );

  return {
    /** This node's actors (timers, status sync); commands from the edge go through `api`. */
    local,
    api: edge,
    ownership: coordinator,
    /** Joins the cluster: replica, gossip, membership, shard ownership, periodic catch-up. Stop hands shards over. */
    start(): { stop(): Promise<void> } {
      local.startWheel();
      const pickUpError = d.onStoreError("pick_up");
      const stopReplica = d.sequencer.listen((ev) =>
        applyEvent(directory, ev, {
          ownsDomain: (domain) => coordinator.ownsDomain(domain),
          // The event carried the public record only: the owner loads the token hash before it serves the server.
          ownedAdded: (rec) => pickUpWithRetry(local, rec.domain, CLUSTER_DEFAULTS.takeoverGraceMs, pickUpError),
          ownedRemoved: (rec) => local.release([rec]),
        }),
      );
      gossip.start();
      membership.start(() => coordinator.tick());
      coordinator.start();
      // Beats from other edges run here for the shards this node accepts at the time; the rest go back to them.
      const beatsServed = serveBeats(transport, subj.beats(config.nodeId), {
        local, accepts: (shard) => coordinator.accepts(shard), shards: config.shards, onDrop: d.onDrop,
      });
      // Events missed while NATS was away are read back from MySQL.
      const catchUpError = d.onStoreError("catch_up");
      const catchUpTimer = setInterval(() => void d.sequencer.catchUp().catch(catchUpError), CLUSTER_DEFAULTS.catchUpEveryMs);
      catchUpTimer.unref();
      return {
        async stop() {
          clearInterval(catchUpTimer);
          await coordinator.stop();
          beatsServed.unsubscribe();
          membership.stop();
          gossip.stop();
          stopReplica();
        },
      };
    },
    health() {
      const members = membership.details();
      return { nodes: members.length, shards_owned: coordinator.shardsOwned, shards_total: config.shards, members };
    },
    stats: () => ({ moves: coordinator.moves, members: membership.members().length, remote: edge.stats.remote, beats: beats.stats }),
  };
}

export type Cluster = Awaited<ReturnType<typeof createCluster>>;
