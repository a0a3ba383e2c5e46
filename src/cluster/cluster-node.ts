// Cluster mode wiring: leases, membership, liveness gossip, replica, edge routing and shard hooks of one node.
import type { LivenessSink } from "../../actors/ports.js";
import type { ServerRecord } from "../../actors/server-record.js";
import { ServerActors, SINGLE_NODE, type ActorApi, type ActorSettings } from "../../actors/server-actors.js";
import { shardOf } from "../../actors/shards.js";
import { systemClock } from "../../actors/clock.js";
import type { NatsTransport } from "../../transport/nats/nats-transport.js";
import { subjects } from "../../transport/subjects.js";
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
import { LeaseStore } from "./leases.js";
import { LivenessGossip } from "./liveness-gossip.js";
import { Membership } from "./membership.js";
import { applyEvent } from "./replica.js";
import { claimEpoch, reloadOwnerState } from "./shard-store.js";

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
} as const;

export type ClusterDeps = {
  config: Config;
  transport: NatsTransport;
  db: Db;
  directory: Directory;
  sequencer: EventSequencer;
  repo: ServersRepo;
  writeBehind: WriteBehind;
  log: Logger;
  onMailboxLatency: (s: number) => void;
};

export async function createCluster(d: ClusterDeps) {
  const { config, transport, directory, log } = d;
  const subj = subjects(config.clusterId);
  const leases = await LeaseStore.open(transport.nc, config.clusterId, config.nodeId, CLUSTER_DEFAULTS.leaseTtlMs);
  let coordinator!: ShardCoordinator;
  let local!: ServerActors;
  let edge!: ClusterActors;
  const membership = new Membership(transport, subj.gossip, config.nodeId, () => ({ shards: coordinator.shardsOwned, servers: directory.size }));
  const gossip = new LivenessGossip(transport, subj.liveness, directory, (domain) => coordinator.ownsDomain(domain));

  // Records grouped by shard, rebuilt at most once per burst of acquisitions (start-up takes many shards at once).
  let buckets: { atMs: number; size: number; map: Map<number, ServerRecord[]> } | null = null;
  const recordsOf = (shard: number): ServerRecord[] => {
    if (!buckets || Date.now() - buckets.atMs > 1000 || buckets.size !== directory.size) {
      const map = new Map<number, ServerRecord[]>();
      for (const r of directory.values()) {
        if (r.origin !== config.registrarId) continue;
        const s = shardOf(r.domain, config.shards);
        let list = map.get(s);
        if (!list) map.set(s, (list = []));
        list.push(r);
      }
      buckets = { atMs: Date.now(), size: directory.size, map };
    }
    return (buckets.map.get(shard) ?? []).filter((r) => directory.get(r.domain) === r);
  };

  coordinator = new ShardCoordinator(
    { nodeId: config.nodeId, shards: config.shards, tickMs: CLUSTER_DEFAULTS.tickMs, renewMs: CLUSTER_DEFAULTS.renewMs, staleMs: CLUSTER_DEFAULTS.staleMs, leaseTtlMs: CLUSTER_DEFAULTS.leaseTtlMs },
    leases,
    membership,
    {
      async acquired(shard) {
        const epoch = await claimEpoch(d.db, shard, config.nodeId);
        // Every event the previous owner committed must be in our directory before we load the shard.
        await d.sequencer.catchUp();
        buckets = null;
        const records = recordsOf(shard);
        const gone = await reloadOwnerState(d.db, records, config.tokenTtlDays);
        for (const domain of gone) {
          const r = directory.get(domain);
          if (r) directory.remove(r);
        }
        return epoch;
      },
      serving(shard) {
        local.adopt(recordsOf(shard), CLUSTER_DEFAULTS.takeoverGraceMs);
        edge.serve(shard);
      },
      async releasing(shard) {
        edge.unserve(shard);
        await local.quiesce();
        await local.statusSync.flush();
        await d.writeBehind.flush();
        gossip.flush();
        local.release(recordsOf(shard));
      },
      lost(shard) {
        edge.unserve(shard);
        local.release(recordsOf(shard));
      },
      onError(err, what) {
        log.warn({ err: { message: (err as Error).message }, what }, "shard ownership step failed");
      },
    },
  );

  const liveness: LivenessSink = {
    markDirty(rec) {
      d.writeBehind.markDirty(rec);
      gossip.markDirty(rec);
    },
  };

  let catchUpTimer: NodeJS.Timeout | null = null;
  let stopReplica: (() => void) | null = null;

  return {
    ownership: coordinator,
    liveness,
    /** Builds the edge API once the local actors exist. */
    attach(actors: ServerActors, settings: ActorSettings, events: ConstructorParameters<typeof ServerActors>[3]): ActorApi {
      local = actors;
      // Degraded mode gets its own actor instance: no fence, no timers, tokens re-read from MySQL.
      const unfenced = new ServerActors(settings, directory, d.repo, events, liveness, systemClock, (err) => log.warn({ err }, "degraded write failed"), SINGLE_NODE);
      const degraded = new DegradedActors(unfenced, directory, d.db, d.repo, config.tokenTtlDays, config.registrarId);
      edge = new ClusterActors(
        actors,
        (shard) => coordinator.accepts(shard),
        transport,
        subj.shard,
        { shards: config.shards, requestTimeoutMs: CLUSTER_DEFAULTS.requestTimeoutMs, retryBudgetMs: CLUSTER_DEFAULTS.retryBudgetMs },
        degraded,
        d.onMailboxLatency,
      );
      return edge;
    },
    start(): void {
      stopReplica = d.sequencer.listen((ev) =>
        applyEvent(directory, ev, {
          ownsDomain: (domain) => coordinator.ownsDomain(domain),
          ownedAdded: (rec) => local.adopt([rec], CLUSTER_DEFAULTS.takeoverGraceMs),
          ownedRemoved: (rec) => local.release([rec]),
        }),
      );
      gossip.start();
      membership.start(() => coordinator.tick());
      coordinator.start();
      // Events missed while NATS was away are read back from MySQL.
      catchUpTimer = setInterval(() => void d.sequencer.catchUp().catch(() => {}), CLUSTER_DEFAULTS.catchUpEveryMs);
      catchUpTimer.unref();
    },
    /** Graceful: hands every shard over (flushing first), then leaves the membership. */
    async stop(): Promise<void> {
      if (catchUpTimer) clearInterval(catchUpTimer);
      await coordinator.stop();
      membership.stop();
      gossip.stop();
      stopReplica?.();
    },
    health() {
      const members = membership.details();
      return { nodes: members.length, shards_owned: coordinator.shardsOwned, shards_total: config.shards, members };
    },
    stats: () => ({ moves: coordinator.moves, members: membership.members().length, remote: edge?.stats.remote ?? 0 }),
  };
}

export type Cluster = Awaited<ReturnType<typeof createCluster>>;
