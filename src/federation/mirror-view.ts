// Every node's view of contested and mirrored records: which record of a domain the directory lists (winner.ts),
// the others kept aside, and the events about mirrored records applied in seq order (replacing replica.ts for them).
import type { RegistryEvent } from "../core/events.js";
import { ALL_FIELDS, SORT_FIELD, ServerRecord } from "../core/record.js";
import { readSummary, type ReplicaHooks } from "../cluster/replica.js";
import type { Directory } from "../directory/directory.js";
import { compareCandidates, pickWinner } from "./winner.js";

/** Builds or refreshes a record from a public record (contract §2) exactly as its origin serves it. */
export function recordFromPublic(p: Record<string, any>, into?: ServerRecord): ServerRecord {
  const r = ServerRecord.fromPublic(p, into);
  r.lastSeenMs = Date.parse(p.last_seen);
  r.userCount = p.user_count;
  r.channelCount = p.channel_count;
  setRating(r, p.rating ?? {});
  r.json = null;
  return r;
}

// Peers send the rounded average; count × average reproduces it (ratingAverage() rounds to 2 decimals again).
function setRating(r: ServerRecord, s: { count?: unknown; average?: unknown; sum?: unknown; distribution?: unknown; verified_count?: unknown }): void {
  const count = typeof s.count === "number" ? s.count : 0;
  const average = typeof s.average === "number" ? s.average : null;
  const sum = typeof s.sum === "number" ? s.sum : count === 0 || average === null ? 0 : average * count;
  const summary = readSummary({ count, sum, distribution: s.distribution, verified_count: s.verified_count });
  if (summary) r.setRatingSummary(summary);
}

const NO_HOOKS: ReplicaHooks = { ownsDomain: () => false, ownedAdded: () => {}, ownedRemoved: () => {} };

export class MirrorView {
  /** Records of a domain that lost to the listed one, of any origin (this registrar's own included). */
  private readonly losers = new Map<string, ServerRecord[]>();
  private loserTotal = 0;

  constructor(
    private readonly directory: Directory,
    private readonly self: string,
  ) {}

  /** Records kept out of listings because another registrar's record of the same domain wins. */
  get loserCount(): number {
    return this.loserTotal;
  }

  /** The directory's arbiter: the local actors add a record while another origin's is listed (a registration race). */
  contest = (incoming: ServerRecord, listed: ServerRecord): ServerRecord => {
    if (compareCandidates(incoming, listed, this.self) < 0) {
      this.addLoser(listed);
      return incoming;
    }
    this.addLoser(incoming);
    return listed;
  };

  /** Start-up: mirrored records from MySQL join the directory (loaded with this registrar's own records). */
  load(records: Iterable<ServerRecord>): void {
    for (const r of records) this.place(r, NO_HOOKS);
  }

  /** The record of (domain, origin), listed or not. */
  find(domain: string, origin: string): ServerRecord | undefined {
    const listed = this.directory.get(domain);
    if (listed?.origin === origin) return listed;
    return this.losers.get(domain)?.find((r) => r.origin === origin);
  }

  losersOf(domain: string): readonly ServerRecord[] {
    return this.losers.get(domain) ?? [];
  }

  /**
   * Replica hook: applies events about other origins' records, and this registrar's events about a domain that
   * another origin also holds. Returns false for everything else (replica.ts applies it as before).
   */
  apply = (ev: RegistryEvent, hooks: ReplicaHooks): boolean => {
    const listed = this.directory.get(ev.domain);
    const contested = this.losers.has(ev.domain) || (listed !== undefined && listed.origin !== ev.origin);
    if (ev.origin === this.self && !contested) return false;
    const cur = this.find(ev.domain, ev.origin);
    const ownedLocal = (r: ServerRecord) => r.origin === this.self && hooks.ownsDomain(r.domain);
    switch (ev.type) {
      case "server.registered":
      case "server.updated":
        if (!cur) {
          this.place(recordFromPublic(ev.data), hooks);
        } else if (ownedLocal(cur)) {
          // The owner's actors are the truth for status and liveness; take only the fields a client sets.
          this.mutate(cur, SORT_FIELD.name, () => cur.applyFields(ServerRecord.fromPublic(ev.data).clientFields()));
        } else {
          this.mutate(cur, ALL_FIELDS, () => recordFromPublic(ev.data, cur));
          this.settle(ev.domain, hooks);
        }
        return true;
      case "server.status":
        if (cur && !ownedLocal(cur)) {
          this.mutate(cur, SORT_FIELD.last_seen, () => {
            cur.status = ev.data.status === "offline" ? "offline" : "online";
            cur.persistedStatus = cur.status;
            const seen = Date.parse(String(ev.data.last_seen));
            if (seen > cur.lastSeenMs) cur.lastSeenMs = seen;
          });
        }
        return true;
      case "rating.created": {
        const s = ev.data.summary as Record<string, unknown> | undefined;
        if (cur && s && typeof s.count === "number") this.mutate(cur, SORT_FIELD.rating, () => setRating(cur, s));
        return true;
      }
      case "server.removed":
        if (cur) this.drop(cur, hooks);
        // The local actors unlist their own record before its event arrives: the next candidate moves up here.
        else if (!listed) this.promote(ev.domain, hooks);
        return true;
    }
  };

  /** A record becomes a candidate for its domain: listed if it wins, else kept aside. */
  private place(rec: ServerRecord, hooks: ReplicaHooks): void {
    const listed = this.directory.get(rec.domain);
    if (!listed) {
      this.list(rec, hooks);
    } else if (compareCandidates(rec, listed, this.self) < 0) {
      this.unlist(listed, hooks);
      this.addLoser(listed);
      this.list(rec, hooks);
    } else {
      this.addLoser(rec);
    }
  }

  /** Re-decides a domain after a candidate changed (verified can change). */
  private settle(domain: string, hooks: ReplicaHooks): void {
    const aside = this.losers.get(domain);
    const listed = this.directory.get(domain);
    if (!aside || !listed) return;
    const best = pickWinner(aside, this.self);
    if (compareCandidates(best, listed, this.self) >= 0) return;
    this.removeLoser(best);
    this.unlist(listed, hooks);
    this.addLoser(listed);
    this.list(best, hooks);
  }

  private drop(rec: ServerRecord, hooks: ReplicaHooks): void {
    if (this.directory.get(rec.domain) !== rec) {
      this.removeLoser(rec);
      return;
    }
    this.unlist(rec, hooks);
    this.promote(rec.domain, hooks);
  }

  /** Lists the best record kept aside for a domain nobody is listed for. */
  private promote(domain: string, hooks: ReplicaHooks): void {
    const aside = this.losers.get(domain);
    if (!aside || this.directory.get(domain)) return;
    const next = pickWinner(aside, this.self);
    this.removeLoser(next);
    this.list(next, hooks);
  }

  private list(rec: ServerRecord, hooks: ReplicaHooks): void {
    this.directory.add(rec);
    // A record of this registrar listed again (the other origin's record went away): its owner arms its timer.
    if (rec.origin === this.self && hooks.ownsDomain(rec.domain)) hooks.ownedAdded(rec);
  }

  private unlist(rec: ServerRecord, hooks: ReplicaHooks): void {
    this.directory.remove(rec);
    if (rec.origin === this.self && hooks.ownsDomain(rec.domain)) hooks.ownedRemoved(rec);
  }

  private mutate(rec: ServerRecord, fields: number, fn: () => void): void {
    if (this.directory.get(rec.domain) === rec) this.directory.update(rec, fields, true, fn);
    else {
      fn();
      rec.json = null;
    }
  }

  private addLoser(rec: ServerRecord): void {
    const list = this.losers.get(rec.domain);
    const same = list?.findIndex((r) => r.origin === rec.origin) ?? -1;
    if (list && same >= 0) {
      list[same] = rec;
      return;
    }
    if (list) list.push(rec);
    else this.losers.set(rec.domain, [rec]);
    this.loserTotal++;
  }

  private removeLoser(rec: ServerRecord): void {
    const list = this.losers.get(rec.domain);
    if (!list) return;
    const i = list.indexOf(rec);
    if (i < 0) return;
    list.splice(i, 1);
    this.loserTotal--;
    if (list.length === 0) this.losers.delete(rec.domain);
  }
}
