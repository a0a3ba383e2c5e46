// The frames the registrar sends on its WebSockets (contract §4, §5) as zod schemas: what docs/asyncapi.json says
// they are. frames.ts builds them as strings for speed; the WebSocket tests check every received frame against the
// description (test/support/ws-test-client.ts), so the two cannot drift apart.
import { z } from "zod";
import { IsoTime, Rating, Server } from "../http/openapi/responses.js";
import { PROTOCOLS } from "./ws-messages.js";

const Seq = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const Count = z.int().min(0);

export const SessionHello = z.object({
  op: z.literal("hello"),
  heartbeat_interval_ms: z.int().positive(),
  identify_timeout_ms: z.int().positive(),
  protocols: z.array(z.literal(PROTOCOLS)).min(1),
}).meta({ description: "Sent on connect: how often to heartbeat, how long identify may take, the protocol versions spoken." });

export const Ready = z.object({ op: z.literal("ready"), session_id: z.string().min(1), status: z.literal("online") })
  .meta({ description: "The identify was accepted: the server is online (counts as a heartbeat)." });

export const HeartbeatAck = z.object({ op: z.literal("heartbeat_ack"), seq: Seq.optional() })
  .meta({ description: "A heartbeat was taken; `seq` echoes the heartbeat's when it had one." });

export const FeedHello = z.object({ op: z.literal("hello"), last_seq: Seq })
  .meta({ description: "Sent on connect: the newest event's seq, the position to resume from." });

export const Reset = z.object({ op: z.literal("reset"), last_seq: Seq })
  .meta({ description: "Events after the subscription's after_seq are gone (retention): re-list, then follow live from last_seq." });

const RatingSummary = z.object({
  average: z.number().min(1).max(5).nullable(),
  count: Count,
  sum: Count,
  distribution: z.array(Count).length(5),
  verified_count: Count,
});

/** A mirrored record's rating as its origin shows it (docs/federation.md); older peers may lack the last two. */
const MirroredSummary = z.object({
  average: z.number().min(1).max(5).nullable(),
  count: Count,
  distribution: z.array(Count).length(5).optional(),
  verified_count: Count.optional(),
});

const eventOf = <T extends string, D extends z.ZodType>(type: T, data: D) =>
  z.object({ op: z.literal("event"), seq: z.int().positive(), type: z.literal(type), domain: z.string().min(1).max(253), at: IsoTime, data });

/** A registry event (contract §5), its `data` by `type`. */
export const Event = z.discriminatedUnion("type", [
  eventOf("server.registered", Server),
  eventOf("server.updated", Server),
  eventOf("server.status", z.object({ status: z.enum(["online", "offline"]), last_seen: IsoTime })),
  eventOf("server.removed", z.object({})),
  eventOf("rating.created", z.union([
    z.object({ rating: Rating, summary: RatingSummary }),
    z.object({ removed: z.object({ user_id: z.string() }), summary: RatingSummary }).meta({ description: "the operator removed a rating (contract §8.5)" }),
    z.object({ summary: MirroredSummary }).meta({ description: "a mirrored record's ratings changed at its origin (docs/federation.md)" }),
  ])),
]).meta({ description: "A committed registry event; on a server session only the session's own domain's events." });
