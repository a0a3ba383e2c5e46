// Keeps this node's copy of records it does not own current from the ordered event stream (cluster mode).
import type { RegistryEvent } from "../../actors/ports.js";
import { ServerRecord } from "../../actors/server-record.js";
import type { Directory } from "../directory/directory.js";
import { ALL_FIELDS, SORT_FIELD } from "../directory/sort-index.js";

/**
 * Applies one event in seq order. The owner of a record is its source of truth for everything but ratings
 * (written by whichever node took the request), so it skips its own records' other events.
 */
export function applyEvent(directory: Directory, ev: RegistryEvent, ownsDomain: (domain: string) => boolean): void {
  const rec = directory.get(ev.domain);
  if (ev.type === "rating.created") {
    const summary = ev.data.summary as { count?: number; sum?: number } | undefined;
    if (rec && summary && typeof summary.count === "number" && typeof summary.sum === "number") {
      directory.update(rec, SORT_FIELD.rating, false, () => {
        rec.ratingCount = summary.count!;
        rec.ratingSum = summary.sum!;
      });
    }
    return;
  }
  if (ownsDomain(ev.domain)) return;
  switch (ev.type) {
    case "server.registered":
      if (!rec) directory.add(ServerRecord.fromPublic(ev.data));
      return;
    case "server.updated":
      if (!rec) directory.add(ServerRecord.fromPublic(ev.data));
      else directory.update(rec, ALL_FIELDS, true, () => ServerRecord.fromPublic(ev.data, rec));
      return;
    case "server.status":
      if (rec) {
        directory.update(rec, SORT_FIELD.last_seen, false, () => {
          rec.status = ev.data.status === "offline" ? "offline" : "online";
          rec.persistedStatus = rec.status;
          const seen = Date.parse(String(ev.data.last_seen));
          if (seen > rec.lastSeenMs) rec.lastSeenMs = seen;
        });
      }
      return;
    case "server.removed":
      if (rec) directory.remove(rec);
      return;
  }
}
