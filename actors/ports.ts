// The ports through which actors reach the outside: durable store, event publication, write-behind. No I/O here.
import type { Initiator, RegistryEvent } from "../src/core/events.js";
import type { ServerFields, ServerRecord, Status } from "../src/core/record.js";

/** Proof of shard ownership checked inside the write's transaction (cluster mode); absent on a single node. */
export type Fence = { shard: number; epoch: number };

/** `atMs`: when the registrar decided the change (the timer fired, the heartbeat came); the event's `at` and the new
 * status_since, so a slow or unavailable store never moves the moment a server went offline or came back. */
export type StatusChange = { domain: string; status: Status; lastSeenMs: number; atMs: number; fence?: Fence };

export interface ServerStore {
  /** Inserts the record with its token hash and a server.registered event; throws DomainTakenError. */
  insertServer(rec: ServerRecord, by: Initiator, fence?: Fence): Promise<RegistryEvent>;
  /** Writes the changed fields (rec already holds the new state) with a server.updated event; null if gone. */
  updateServer(rec: ServerRecord, changed: Partial<ServerFields>, by: Initiator, fence?: Fence): Promise<RegistryEvent | null>;
  /** Deletes the record and its ratings with a server.removed event; null if it was already gone. `action` and
   * `detail` name it in the audit log (the operator's removal, §8.5). */
  deleteServer(domain: string, by: Initiator, fence?: Fence, action?: string, detail?: Record<string, unknown>): Promise<RegistryEvent | null>;
  /** `action` names it in the audit log (an owner's rotation, the operator's reissue, a recovery's new token). */
  rotateToken(domain: string, tokenHash: string, issuedMs: number, expiresMs: number, by: Initiator, fence?: Fence, action?: string): Promise<boolean>;
  /**
   * Writes the proof state of `rec` (verified, verified_at, standing challenge; contract §8.1) with a server.updated
   * event and an audit row `action`; with `token`, the recovery's new token in the same transaction (§8.2). Null if gone.
   */
  writeTrust(rec: ServerRecord, by: Initiator, action: string, detail: Record<string, unknown>, fence?: Fence, token?: { expiresMs: number }): Promise<RegistryEvent | null>;
  /** Persists status changes in one transaction, one server.status event per row that really changed; changes
   * whose fence no longer holds are skipped (a newer owner decides them). */
  persistStatuses(changes: StatusChange[]): Promise<RegistryEvent[]>;
  /** Loads records with their owner state (token hash, persisted status), e.g. written by another process. */
  loadServers(domains: string[]): Promise<ServerRecord[]>;
}

export interface EventSink {
  publish(ev: RegistryEvent): void;
}

/** Heartbeat soft state goes here; it is written behind in batches. */
export interface LivenessSink {
  markDirty(rec: ServerRecord): void;
}

/** What the actors need from the directory: lookup plus index-aware mutation (`fields`: a mask from core/record). */
export interface DirectoryPort {
  get(domain: string): ServerRecord | undefined;
  add(r: ServerRecord): void;
  remove(r: ServerRecord): void;
  update(r: ServerRecord, fields: number, text: boolean, mutate: () => void): void;
  values(): IterableIterator<ServerRecord>;
}

/** Shard ownership as the actors see it: a fence for writes, or a ShardMovedError when this node is not the owner. */
export interface Ownership {
  fence(domain: string): Fence | undefined;
}

export const SINGLE_NODE: Ownership = { fence: () => undefined };
