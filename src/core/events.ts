// Registry events (contract §5) and who caused them: the vocabulary of the feed, webhooks, audit log and replicas.
import { z } from "zod";

export const EVENT_TYPES = ["server.registered", "server.updated", "server.status", "server.removed", "rating.created"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** A committed event (contract §5); seq comes from the events table. */
export const RegistryEvent = z.object({
  seq: z.number().int().positive(),
  type: z.enum(EVENT_TYPES),
  domain: z.string().min(1).max(253),
  origin: z.string().min(1).max(253),
  at: z.string().max(40),
  data: z.record(z.string(), z.unknown()),
});
export type RegistryEvent = z.infer<typeof RegistryEvent>;

/**
 * Who did a state-changing action, for the audit log: a domain (token holder), a client IP, the operator (`admin`,
 * contract §8.5) or the registrar itself (`system`: a re-check that lapsed a proof, §8.1).
 */
export const Initiator = z.strictObject({ kind: z.enum(["domain", "ip", "admin", "system"]), id: z.string().min(1).max(253) });
export type Initiator = z.infer<typeof Initiator>;
