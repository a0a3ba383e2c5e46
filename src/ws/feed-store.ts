// The feed's view of the events table (src/store/events-repo.ts) over one pool.
import type { Db } from "../store/db.js";
import { lastSeq, oldestSeq, pruneEvents, readEvents } from "../store/events-repo.js";
import type { FeedStore } from "./feed.js";

export function feedStore(db: Db): FeedStore & { pruneEvents(olderThanMs: number): Promise<number> } {
  return {
    readEvents: (afterSeq, limit, uptoSeq) => readEvents(db, afterSeq, limit, uptoSeq),
    oldestSeq: () => oldestSeq(db),
    newestSeq: () => lastSeq(db),
    pruneEvents: (olderThanMs) => pruneEvents(db, olderThanMs),
  };
}
