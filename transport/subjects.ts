// Every subject name is built here and only here, each next to the versioned schema of what it carries.
// Tokens are [a-z0-9_-]; user text never appears raw.
import { z } from "zod";
import { RegistryEvent } from "../src/core/events.js";
import { BeatBatch, BeatReplies, CommandEnvelope, ReplyEnvelope } from "../actors/commands.js";
import type { MessageSpec } from "./codec.js";

/** Version of the cluster messages below: nodes of one cluster run one version (upgrade them together). */
export const CLUSTER_WIRE_VERSION = 1;
const v = z.literal(CLUSTER_WIRE_VERSION);
const NodeId = z.string().min(1).max(63);
const Domain = z.string().min(1).max(253);
const KiB = 1024;

/** A committed event from the node that committed it (receivers drop their own and order the rest by seq). */
export const EventMessage = z.strictObject({ v, from: NodeId, ev: RegistryEvent });
export type EventMessage = z.infer<typeof EventMessage>;

export const MemberInfo = z.strictObject({
  v,
  node: NodeId,
  shards: z.number().int().min(0),
  servers: z.number().int().min(0),
  leaving: z.boolean().optional(),
  at: z.number(),
});
export type MemberInfo = z.infer<typeof MemberInfo>;

/** Heartbeat soft state of one server: [domain, lastSeenMs, userCount, channelCount, version]. */
export const Beat = z.tuple([Domain, z.number(), z.number().int().min(0), z.number().int().min(0), z.string().max(1000).nullable()]);
export type Beat = z.infer<typeof Beat>;
export const LIVENESS_BATCH = 2000;
export const LivenessBatch = z.strictObject({ v, beats: z.array(Beat).max(LIVENESS_BATCH) });

/** n: limiter name, k: key (client IP), w: window start, c: cost, from: reporting node. */
export const RateLimitReport = z.strictObject({ v, n: z.string().max(32), k: z.string().max(64), w: z.number(), c: z.number().int().positive(), from: NodeId });
export type RateLimitReport = z.infer<typeof RateLimitReport>;
/** One [n, k, w, c] of a RateLimitReport. */
export const RateLimitCount = z.tuple([z.string().max(32), z.string().max(64), z.number(), z.number().int().positive()]);
export type RateLimitCount = z.infer<typeof RateLimitCount>;
export const RATE_LIMIT_BATCH = 500;
/**
 * What one node counted in one event-loop turn, summed per (n, k, w). A single RateLimitReport (what nodes sent
 * before batching) is still read, so a rolling upgrade keeps the older nodes' counts.
 */
export const RateLimitReports = z.union([
  z.strictObject({ v, from: NodeId, counts: z.array(RateLimitCount).min(1).max(RATE_LIMIT_BATCH) }),
  RateLimitReport,
]);
export type RateLimitReports = z.infer<typeof RateLimitReports>;

/** "This domain has a session here since identifiedMs", as one node tells the others. */
export const SessionClaimMessage = z.strictObject({ v, domain: Domain, sessionId: z.string().min(1).max(64), identifiedMs: z.number() });

/** The message kinds, their schemas and size bounds (the kind is the drop counter's `subject` label). */
export const MESSAGES = {
  events: { kind: "events", schema: EventMessage, maxBytes: 1024 * KiB },
  gossip: { kind: "gossip", schema: MemberInfo, maxBytes: 4 * KiB },
  liveness: { kind: "liveness", schema: LivenessBatch, maxBytes: 1024 * KiB },
  rateLimits: { kind: "ratelimit", schema: RateLimitReports, maxBytes: 128 * KiB },
  sessions: { kind: "sessions", schema: SessionClaimMessage, maxBytes: 4 * KiB },
  shard: { kind: "shard", schema: CommandEnvelope, maxBytes: 256 * KiB },
  shardReply: { kind: "shard_reply", schema: ReplyEnvelope, maxBytes: 256 * KiB },
  /** At most BEATS_PER_BATCH heartbeats; the edge also closes a batch before it could pass this size. */
  beats: { kind: "beats", schema: BeatBatch, maxBytes: 512 * KiB },
  beatsReply: { kind: "beats_reply", schema: BeatReplies, maxBytes: 512 * KiB },
} as const satisfies Record<string, MessageSpec<unknown>>;

export function subjects(clusterId: string) {
  const root = `zent.${clusterId}`;
  return {
    /** Committed registry events, in any order; receivers order them by seq. */
    events: `${root}.events`,
    /** Membership gossip. */
    gossip: `${root}.gossip`,
    /** Mailbox of one shard's actors (request: CommandEnvelope, reply: ReplyEnvelope). */
    shard: (shard: number) => `${root}.shard.${shard}`,
    /** Heartbeats forwarded to one node in batches (request: BeatBatch, reply: BeatReplies). */
    beats: (nodeId: string) => `${root}.node.${nodeToken(nodeId)}.beats`,
    /** Heartbeat soft state from shard owners. */
    liveness: `${root}.liveness`,
    /** Zent-instance session claims: a newer session for a domain on any node replaces older ones (4010). */
    sessions: `${root}.sessions`,
    /** Rate-limit counts shared across nodes. */
    rateLimits: `${root}.ratelimit`,
    /** JetStream KV bucket of the shard leases. */
    leaseBucket: `zent_${clusterId.replace(/[^a-zA-Z0-9_-]/g, "_")}_shards`,
  };
}

/**
 * Node ids are `[a-z0-9._-]`: "." becomes "_" to keep one subject token. Two ids that differ only there would share
 * a subject; each node runs only the beats of shards it owns, so the other's beats fall back one by one.
 */
function nodeToken(nodeId: string): string {
  return nodeId.replaceAll(".", "_");
}

/**
 * Subjects of one registrar's federation link (docs/federation.md), shared by every registrar that peers with it.
 * Registrar ids are `[a-z0-9.-]`, so "." becomes "_" and the token stays readable in NATS permission configs.
 * Their messages' schemas are the federation wire (src/federation/wire.ts), versioned on their own.
 */
export function fedSubjects(registrarId: string) {
  const root = `zent.fed.${fedToken(registrarId)}`;
  return {
    /** Everything this registrar may publish or serve (for permission configs). */
    all: `${root}.>`,
    /** First-hand changes of this registrar's own records, in seq order. */
    changes: `${root}.changes`,
    /** Changes of other origins this registrar mirrors, relayed to one peer (never back along their path). */
    relay: (to: string) => `${root}.relay.${fedToken(to)}`,
    /** Anti-entropy request/reply: digest (root, group and bucket hashes), bucket entries, records by key. */
    digest: `${root}.sync.digest`,
    entries: `${root}.sync.entries`,
    records: `${root}.sync.records`,
  };
}

export function fedToken(registrarId: string): string {
  return registrarId.replaceAll(".", "_");
}
