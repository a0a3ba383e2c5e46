// Messages clients send on /v1/ws/server and /v1/feed (contract §4, §5), as zod schemas; a type shares its schema's name.
import { z } from "zod";
import { EVENT_TYPES } from "../core/events.js";
import { Heartbeat } from "../domain/schemas.js";
import { DomainName } from "../domain/server-schemas.js";

/** Protocol versions of the server session this registrar speaks (hello.protocols). */
export const PROTOCOLS = [1] as const;

const Seq = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

// domain and token are plain strings here: a malformed one is an authentication failure (4001), not a schema
// violation (4000), so it cannot be told apart from a wrong one (contract §4).
export const Identify = z.strictObject({
  op: z.literal("identify"),
  domain: z.string().max(1024),
  token: z.string().max(1024),
  protocol: z.int(),
});
export type Identify = z.infer<typeof Identify>;

/** Stats are the body of the HTTP heartbeat, so both count the same way. */
export const HeartbeatMessage = z.strictObject({
  op: z.literal("heartbeat"),
  seq: Seq.optional(),
  stats: Heartbeat.optional(),
});
export type HeartbeatMessage = z.infer<typeof HeartbeatMessage>;

export const MAX_FEED_DOMAINS = 256;

export const Subscribe = z.strictObject({
  op: z.literal("subscribe"),
  types: z.array(z.enum(EVENT_TYPES)).min(1).max(EVENT_TYPES.length).optional(),
  domains: z.array(DomainName).min(1).max(MAX_FEED_DOMAINS).optional(),
  after_seq: Seq.optional(),
});
export type Subscribe = z.infer<typeof Subscribe>;

export const SESSION_OPS = ["identify", "heartbeat"] as const;
export const FEED_OPS = ["subscribe"] as const;

/** One line naming the first problem, short enough for a close frame's reason. */
export function describeIssues(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid message";
  const path = issue.path.map(String).join(".");
  const what = issue.code === "unrecognized_keys" ? `unknown field ${issue.keys.join(", ")}` : issue.message;
  return path ? `${path}: ${what}` : what;
}
