// Keeps this node's copy of the directory current from the ordered event stream (cluster mode).
import type { RegistryEvent } from "../core/events.js";
import { ALL_FIELDS, SORT_FIELD, ServerRecord } from "../core/record.js";
import type { Directory } from "../directory/directory.js";
import { applyRatingSummary } from "../directory/rating-summary.js";

export type ReplicaHooks = {
  ownsDomain(domain: string): boolean;
  /** A record of an owned shard appeared through another node (degraded mode) or process (the PHP import): load
   * its owner state and arm its timer. */
  ownedAdded(rec: ServerRecord): void;
  /** A record of an owned shard was removed through another node: drop its timer. */
  ownedRemoved(rec: ServerRecord): void;
};

/** Per directory, the federation's handler for events about mirrored records and contested domains (src/federation). */
const foreignHandlers = new WeakMap<Directory, (ev: RegistryEvent, hooks: ReplicaHooks) => boolean>();

/** The handler returns true when it applied the event itself (the event is then not applied below). */
export function onForeignEvents(directory: Directory, handler: (ev: RegistryEvent, hooks: ReplicaHooks) => boolean): void {
  foreignHandlers.set(directory, handler);
}

/**
 * Applies one event in seq order. For records this node owns, its actors are the truth for status and liveness,
 * so only field changes, appearance and removal made elsewhere (degraded mode, ratings) are taken from events.
 */
export function applyEvent(directory: Directory, ev: RegistryEvent, hooks: ReplicaHooks): void {
  if (foreignHandlers.get(directory)?.(ev, hooks)) return;
  const rec = directory.get(ev.domain);
  const owned = hooks.ownsDomain(ev.domain);
  switch (ev.type) {
    case "rating.created":
      applyRatingSummary(directory, ev);
      return;
    case "server.registered":
    case "server.updated":
      if (!rec) {
        const fresh = ServerRecord.fromPublic(ev.data);
        directory.add(fresh);
        if (owned) hooks.ownedAdded(fresh);
      } else if (owned) {
        directory.update(rec, SORT_FIELD.name, true, () => rec.applyFields(ServerRecord.fromPublic(ev.data).clientFields()));
      } else {
        directory.update(rec, ALL_FIELDS, true, () => ServerRecord.fromPublic(ev.data, rec));
      }
      return;
    case "server.status":
      if (rec && !owned) {
        directory.update(rec, SORT_FIELD.last_seen, false, () => {
          rec.status = ev.data.status === "offline" ? "offline" : "online";
          rec.persistedStatus = rec.status;
          const seen = Date.parse(String(ev.data.last_seen));
          if (seen > rec.lastSeenMs) rec.lastSeenMs = seen;
        });
      }
      return;
    case "server.removed":
      if (rec) {
        directory.remove(rec);
        if (owned) hooks.ownedRemoved(rec);
      }
      return;
  }
}

export { readSummary } from "../directory/rating-summary.js";
