// The ports through which actors reach the outside: durable store, event publication, write-behind. No I/O here.
import type { ServerFields, ServerRecord, Status } from "./server-record.js";

export const EVENT_TYPES = ["server.registered", "server.updated", "server.status", "server.removed", "rating.created"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** A committed event (contract §5); seq comes from the events table. */
export type RegistryEvent = {
  seq: number;
  type: EventType;
  domain: string;
  origin: string;
  at: string;
  data: Record<string, unknown>;
};

/** Who did a state-changing action, for the audit log: a domain (token holder) or a client IP. */
export type Actor = { kind: "domain" | "ip"; id: string };

/** Proof of shard ownership checked inside the write's transaction (cluster mode); absent on a single node. */
export type Fence = { shard: number; epoch: number };

export type StatusChange = { domain: string; status: Status; lastSeenMs: number; fence?: Fence };

export interface ServerStore {
  /** Inserts the record with its token hash and a server.registered event; throws DomainTakenError. */
  insertServer(rec: ServerRecord, by: Actor, fence?: Fence): Promise<RegistryEvent>;
  /** Writes the changed fields (rec already holds the new state) with a server.updated event; null if gone. */
  updateServer(rec: ServerRecord, changed: Partial<ServerFields>, by: Actor, fence?: Fence): Promise<RegistryEvent | null>;
  /** Deletes the record and its ratings with a server.removed event; null if it was already gone. */
  deleteServer(domain: string, by: Actor, fence?: Fence): Promise<RegistryEvent | null>;
  rotateToken(domain: string, tokenHash: string, issuedMs: number, expiresMs: number, by: Actor, fence?: Fence): Promise<boolean>;
  /** Persists status changes in one transaction, one server.status event per row that really changed; changes
   * whose fence no longer holds are skipped (a newer owner decides them). */
  persistStatuses(changes: StatusChange[]): Promise<RegistryEvent[]>;
}

export interface EventSink {
  publish(ev: RegistryEvent): void;
}

/** Heartbeat soft state goes here; it is written behind in batches. */
export interface LivenessSink {
  markDirty(rec: ServerRecord): void;
}
