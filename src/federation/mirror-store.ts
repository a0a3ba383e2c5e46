// MySQL side of federation: this registrar's id for the version trigger, mirrored rows (load, apply with their
// events and conflict audit in one transaction under the event lock), snapshots for peers, tombstone pruning.
import type { RowDataPacket } from "mysql2/promise";
import type { RegistryEvent } from "../core/events.js";
import type { ServerRecord } from "../core/record.js";
import { inTransaction, type Conn, type Db } from "../store/db.js";
import { appendEvents, lockEvents, type NewEvent } from "../store/events-repo.js";
import { supersedes, type Holdings } from "./holdings.js";
import { recordFromPublic } from "./mirror-view.js";
import { localView, overQuota, watchProofs, type ProofWatch } from "./mirror-trust.js";
import { pickWinner, type Candidate } from "./winner.js";
import type { FedChange, PublicServer } from "./wire.js";

const PAGE = 5000;

/**
 * Writes this registrar's id so the events trigger versions its records (migrations/004), and gives records that
 * predate federation a version so they can be offered to peers: the current seq (0 when there are no events yet),
 * which every later event of theirs exceeds, and which the node's sequencer has already delivered.
 */
export async function claimSelf(db: Db, registrarId: string): Promise<void> {
  await inTransaction(db, async (conn) => {
    await lockEvents(conn);
    await conn.query("INSERT INTO fed_self (id, registrar_id) VALUES (1, ?) ON DUPLICATE KEY UPDATE registrar_id = VALUES(registrar_id)", [registrarId]);
    const [[row]] = await conn.query<RowDataPacket[]>("SELECT COALESCE(MAX(seq), 0) AS seq FROM events");
    await conn.query(
      `INSERT IGNORE INTO fed_local_versions (domain, version, deleted, changed_at)
       SELECT domain, ?, 0, UTC_TIMESTAMP(3) FROM servers WHERE origin = ?`,
      [Number(row.seq), registrarId],
    );
  });
}

/** Pages through a table by its primary key so 100k rows never sit in one result. */
async function* pages(db: Db, sql: (after: string) => string, keyCols: string[], args: unknown[] = []): AsyncGenerator<RowDataPacket[]> {
  let after: unknown[] | null = null;
  for (;;) {
    const where: string = after ? `(${keyCols.join(", ")}) > (${keyCols.map(() => "?").join(", ")})` : "1 = 1";
    const [rows]: [RowDataPacket[], unknown] = await db.query<RowDataPacket[]>(`${sql(where)} ORDER BY ${keyCols.join(", ")} LIMIT ${PAGE}`, [...args, ...(after ?? [])]);
    if (rows.length > 0) yield rows;
    if (rows.length < PAGE) return;
    const last: RowDataPacket = rows[rows.length - 1];
    after = keyCols.map((c): unknown => last[c]);
  }
}

/** Every live mirrored record, for the directory at start-up. */
export async function loadMirrored(db: Db, onRecord: (r: ServerRecord) => void): Promise<number> {
  let n = 0;
  for await (const rows of pages(db, (w) => `SELECT domain, origin, record, verified_at FROM mirrored_servers WHERE deleted = 0 AND ${w}`, ["domain", "origin"])) {
    for (const row of rows) {
      // Rows from before migration 006 hold the peer's own `verified`: list them with this registrar's check.
      onRecord(recordFromPublic(localView(JSON.parse(row.record), row.verified_at ? (row.verified_at as Date).getTime() : null)));
      n++;
    }
  }
  return n;
}

/** Fills the anti-entropy index from MySQL: own versions (trigger-maintained) and mirrored rows. */
export async function loadHoldings(db: Db, holdings: Holdings, self: string): Promise<void> {
  for await (const rows of pages(db, (w) => `SELECT domain, version, deleted, changed_at FROM fed_local_versions WHERE ${w}`, ["domain"])) {
    for (const r of rows) holdings.put(r.domain, self, Number(r.version), r.deleted === 1, (r.changed_at as Date).getTime());
  }
  for await (const rows of pages(db, (w) => `SELECT domain, origin, version, deleted, changed_at FROM mirrored_servers WHERE ${w}`, ["domain", "origin"])) {
    for (const r of rows) holdings.put(r.domain, r.origin, Number(r.version), r.deleted === 1, (r.changed_at as Date).getTime());
  }
}

/** Snapshots of mirrored records (tombstones included) for a peer's records request. */
export async function readSnapshots(db: Db, keys: [string, string][]): Promise<FedChange[]> {
  if (keys.length === 0) return [];
  const wanted = new Set(keys.map(([d, o]) => `${d} ${o}`));
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT domain, origin, version, deleted, changed_at, record, challenge FROM mirrored_servers WHERE domain IN (?)",
    [[...new Set(keys.map(([d]) => d))]],
  );
  return rows
    .filter((r) => wanted.has(`${r.domain} ${r.origin}`))
    .map((r) => snapshot(r.domain, r.origin, Number(r.version), (r.changed_at as Date).toISOString(), r.deleted === 1 ? null : JSON.parse(r.record), r.challenge));
}

export function snapshot(domain: string, origin: string, version: number, at: string, server: PublicServer | null, challenge?: string | null): FedChange {
  if (!server) return { domain, origin, version, at, deleted: true };
  return challenge ? { domain, origin, version, at, deleted: false, server, challenge } : { domain, origin, version, at, deleted: false, server };
}

/** Deletes tombstones older than the cutoff from both tables, in chunks. */
export async function pruneTombstones(db: Db, cutoffMs: number): Promise<number> {
  let total = 0;
  for (const table of ["mirrored_servers", "fed_local_versions"]) {
    for (;;) {
      const [res] = await db.query<import("mysql2").ResultSetHeader>(`DELETE FROM ${table} WHERE deleted = 1 AND changed_at < ? LIMIT 5000`, [new Date(cutoffMs)]);
      total += res.affectedRows;
      if (res.affectedRows < 5000) break;
    }
  }
  return total;
}

/** A change to apply: from a peer (via), or a purge of a record its origin no longer has. */
export type Incoming = { change: FedChange; via: string; purge?: boolean; live?: boolean };
export type Applied = { change: FedChange; via: string; events: RegistryEvent[]; purged: boolean; live: boolean };
/** What MySQL holds for a change that was not newer (the holdings index may be behind it). */
export type Stale = { domain: string; origin: string; version: number; deleted: boolean; atMs: number };
export type Conflict = { domain: string; winner: string; losers: string[] };
/** `overQuota`: new records refused per origin because FED_MAX_RECORDS_PER_ORIGIN was reached (contract §8.6). */
export type ApplyResult = { applied: Applied[]; stale: Stale[]; conflicts: Conflict[]; overQuota: Map<string, number> };

/** A mirrored row; `challenge` and `verifiedAtMs` are the origin's standing proof and this registrar's check of it. */
type Row = { version: number; deleted: boolean; atMs: number; server: PublicServer | null; challenge: string | null; verifiedAtMs: number | null };

/**
 * Applies changes newer than what is stored, in one transaction under the event lock: mirrored rows, their events
 * (so the feed and every node of this cluster see them in seq order) and an audit row per new conflict.
 */
export async function applyChanges(db: Db, batch: Incoming[], self: string, maxPerOrigin = Number.MAX_SAFE_INTEGER): Promise<ApplyResult> {
  // Within a batch only the highest version of each record matters.
  const latest = new Map<string, Incoming>();
  for (const inc of batch) {
    const key = `${inc.change.domain} ${inc.change.origin}`;
    const prior = latest.get(key);
    if (!prior || supersedes(inc.change.version, inc.change.deleted, prior.change.version, prior.change.deleted)) latest.set(key, inc);
  }
  const domains = [...new Set([...latest.values()].map((i) => i.change.domain))];
  return inTransaction(db, async (conn) => {
    await lockEvents(conn);
    const current = await lockRows(conn, domains);
    const applied: { inc: Incoming; events: NewEvent[]; newlyLive: boolean }[] = [];
    const stale: Stale[] = [];
    const upserts: unknown[][] = [];
    const watches: ProofWatch[] = [];
    const now = Date.now();
    const refused = await overQuota(conn, latest.values(), current, maxPerOrigin);
    for (const [key, inc] of latest) {
      if (refused.keys.has(key)) continue;
      const c = inc.change;
      const row = current.get(key);
      // A purge only turns the exact live version it was decided on into a tombstone.
      if (inc.purge && (!row || row.version !== c.version || row.deleted)) continue;
      if (row && !supersedes(c.version, c.deleted, row.version, row.deleted)) {
        stale.push({ domain: c.domain, origin: c.origin, version: row.version, deleted: row.deleted, atMs: row.atMs });
        continue;
      }
      const prior = row && !row.deleted ? row.server : null;
      // Contract §8.6: a peer's `verified` is not proof. The record is stored and listed with this registrar's own
      // check, which stands only while the origin keeps the same challenge.
      const challenge = c.deleted ? null : c.challenge ?? null;
      const verifiedAtMs = row && !row.deleted && row.challenge === challenge ? row.verifiedAtMs : null;
      const next = c.deleted ? null : localView(c.server!, verifiedAtMs);
      upserts.push([
        c.domain, c.origin, c.version, c.deleted ? 1 : 0, new Date(c.at), new Date(now), inc.via, next ? JSON.stringify(next) : null,
        challenge, verifiedAtMs === null ? null : new Date(verifiedAtMs), new Date(now),
      ]);
      current.set(key, { version: c.version, deleted: c.deleted, atMs: Date.parse(c.at), server: next, challenge, verifiedAtMs });
      if (challenge !== (row && !row.deleted ? row.challenge : null)) watches.push({ domain: c.domain, origin: c.origin, challenge });
      applied.push({ inc, events: diffEvents(prior, next, c, now), newlyLive: !prior && next !== null });
    }
    if (upserts.length > 0) {
      await conn.query(
        `INSERT INTO mirrored_servers (domain, origin, version, deleted, changed_at, received_at, via, record, challenge, verified_at, first_seen_at) VALUES ?
         ON DUPLICATE KEY UPDATE version = VALUES(version), deleted = VALUES(deleted), changed_at = VALUES(changed_at),
           received_at = VALUES(received_at), via = VALUES(via), record = VALUES(record), challenge = VALUES(challenge),
           verified_at = VALUES(verified_at), first_seen_at = COALESCE(first_seen_at, VALUES(first_seen_at))`,
        [upserts],
      );
      await watchProofs(conn, watches, now);
    }
    const conflicts = await findConflicts(conn, applied.filter((a) => a.newlyLive).map((a) => a.inc), current, self);
    const events = await appendEvents(conn, applied.flatMap((a) => a.events));
    let i = 0;
    const out: Applied[] = applied.map((a) => ({
      change: a.inc.change, via: a.inc.via, purged: !!a.inc.purge, live: !!a.inc.live, events: events.slice(i, (i += a.events.length)),
    }));
    return { applied: out, stale, conflicts, overQuota: refused.byOrigin };
  });
}

async function lockRows(conn: Conn, domains: string[]): Promise<Map<string, Row>> {
  const current = new Map<string, Row>();
  if (domains.length === 0) return current;
  const [rows] = await conn.query<RowDataPacket[]>(
    "SELECT domain, origin, version, deleted, changed_at, record, challenge, verified_at FROM mirrored_servers WHERE domain IN (?) FOR UPDATE",
    [domains],
  );
  for (const r of rows) {
    current.set(`${r.domain} ${r.origin}`, {
      version: Number(r.version), deleted: r.deleted === 1, atMs: (r.changed_at as Date).getTime(),
      server: r.deleted === 1 || r.record === null ? null : JSON.parse(r.record),
      challenge: r.challenge ?? null, verifiedAtMs: r.verified_at ? (r.verified_at as Date).getTime() : null,
    });
  }
  return current;
}

// A record that just became live for a domain another registrar (or this one) also holds: decide the winner the
// way every registrar does, and write it down (the loser stays in MySQL and out of listings).
async function findConflicts(conn: Conn, fresh: Incoming[], current: Map<string, Row>, self: string): Promise<Conflict[]> {
  if (fresh.length === 0) return [];
  const domains = [...new Set(fresh.map((i) => i.change.domain))];
  const [locals] = await conn.query<RowDataPacket[]>("SELECT domain, verified, created_at FROM servers WHERE domain IN (?) AND origin = ?", [domains, self]);
  const candidates = new Map<string, Candidate[]>();
  const add = (domain: string, c: Candidate) => {
    const list = candidates.get(domain);
    if (list) list.push(c);
    else candidates.set(domain, [c]);
  };
  for (const r of locals) add(r.domain, { origin: self, verified: r.verified === 1, createdAtMs: (r.created_at as Date).getTime() });
  const wanted = new Set(domains);
  for (const [key, row] of current) {
    const [domain, origin] = key.split(" ");
    if (row.server && wanted.has(domain)) {
      add(domain, { origin, verified: row.server.verified, createdAtMs: Date.parse(row.server.created_at) });
    }
  }
  const conflicts: Conflict[] = [];
  for (const inc of fresh) {
    const list = candidates.get(inc.change.domain) ?? [];
    if (list.length < 2 || conflicts.some((c) => c.domain === inc.change.domain)) continue;
    const winner = pickWinner(list, self).origin;
    const conflict = { domain: inc.change.domain, winner, losers: list.map((c) => c.origin).filter((o) => o !== winner).sort() };
    conflicts.push(conflict);
    await conn.query("INSERT INTO audit_log (at, actor, action, domain, detail) VALUES (UTC_TIMESTAMP(3), ?, 'federation.conflict', ?, ?)", [
      `registrar:${inc.via}`.slice(0, 253), conflict.domain, JSON.stringify({ winner, losers: conflict.losers, arrived: inc.change.origin }),
    ]);
  }
  return conflicts;
}

const STATUS_KEYS = new Set(["status", "last_seen", "rating"]);

/** The events this registrar's feed shows for a mirrored change, shaped like the origin's own events. */
function diffEvents(prior: PublicServer | null, next: PublicServer | null, c: FedChange, atMs: number): NewEvent[] {
  const ev = (type: NewEvent["type"], data: Record<string, unknown>): NewEvent => ({ type, domain: c.domain, origin: c.origin, atMs, data });
  if (!next) return prior ? [ev("server.removed", {})] : [];
  if (!prior) return [ev("server.registered", next)];
  const out: NewEvent[] = [];
  const changed = (Object.keys(next) as (keyof PublicServer)[]).some((k) => !STATUS_KEYS.has(k) && JSON.stringify(prior[k]) !== JSON.stringify(next[k]));
  if (changed) out.push(ev("server.updated", next));
  if (prior.status !== next.status) out.push(ev("server.status", { status: next.status, last_seen: next.last_seen }));
  if (JSON.stringify(prior.rating) !== JSON.stringify(next.rating)) {
    // The whole summary as the origin shows it (stars and verified raters too, contract §8.4).
    out.push(ev("rating.created", { summary: { ...next.rating } }));
  }
  return out;
}
