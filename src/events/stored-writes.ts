// Writes that reach MySQL without this node's actors — the PHP import (contract §7), another node in degraded
// mode — become known to the node: a single node reads the events table back every second; an owner (single node or
// cluster) loads such a record's owner state and takes it over.
import type { ServerActors } from "../../actors/server-actors.js";
import { applyRatingSummary } from "../directory/rating-summary.js";
import type { Directory } from "../directory/directory.js";
import type { EventSequencer } from "./sequencer.js";

export const STORED_WRITES_DEFAULTS = {
  /** How often a single node reads events committed by another process: the import's servers show up this fast. */
  catchUpEveryMs: 1000,
  pickUpRetries: 5,
  pickUpRetryMs: 1000,
} as const;

/**
 * Loads and adopts a record written elsewhere; a store failure is retried a few times (a missed pick-up would leave
 * the server listed but refusing its own token until the next restart).
 */
export function pickUpWithRetry(actors: ServerActors, domain: string, graceMs: number, onError: (err: unknown) => void, attempt = 0): void {
  actors.pickUp(domain, graceMs).catch((err) => {
    onError(err);
    if (attempt + 1 >= STORED_WRITES_DEFAULTS.pickUpRetries) return;
    const t = setTimeout(() => pickUpWithRetry(actors, domain, graceMs, onError, attempt + 1), STORED_WRITES_DEFAULTS.pickUpRetryMs);
    t.unref();
  });
}

export type StoredWritesDeps = {
  sequencer: EventSequencer;
  directory: Directory;
  actors: ServerActors;
  registrarId: string;
  onError: (err: unknown) => void;
};

/**
 * Single node: nothing else tells it about events another process committed, so it reads the events table after
 * its last delivered seq every second (one indexed range query) and hands them to every listener in order, like its
 * own (the feed, webhooks). Of those, a server.registered for a domain it does not own yet is picked up, and a
 * rating.created brings the server's rating summary (cluster nodes do both in src/cluster/replica.ts).
 */
export function followStoredWrites(d: StoredWritesDeps): { stop(): void } {
  const unlisten = d.sequencer.listen((ev) => {
    if (ev.type === "rating.created") {
      applyRatingSummary(d.directory, ev);
    } else if (ev.type === "server.registered" && ev.origin === d.registrarId && !d.directory.get(ev.domain)?.tokenHash) {
      // Also reached for this node's own registration when the read-back beats its publish: the pick-up then runs
      // after the registration in the domain's mailbox and finds the record there.
      pickUpWithRetry(d.actors, ev.domain, 0, d.onError);
    }
  });
  const timer = setInterval(() => void d.sequencer.catchUp().catch(d.onError), STORED_WRITES_DEFAULTS.catchUpEveryMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      unlisten();
    },
  };
}
