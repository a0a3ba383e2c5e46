// This registrar's side of the import: which domains exist here, and one transaction per batch writing servers,
// ratings, import markers, audit rows and a server.registered event per server under the event lock.
import type { RowDataPacket } from "mysql2/promise";
import type { RegistryEvent } from "../core/events.js";
import { markCommit, inTransaction, type Conn, type Db } from "../store/db.js";
import { appendEvents, lockEvents } from "../store/events-repo.js";
import type { ImportedRating } from "./php-ratings.js";
import type { ImportedServer } from "./php-server.js";

/** Why a domain is left alone. */
export type Existing = { kind: "imported_earlier" } | { kind: "registered_here" } | { kind: "mirrored"; origin: string };

export const AUDIT_ACTOR = "import:php";

/** The tables the existence check reads; a dry run against a database not yet migrated may lack some. */
export type TargetTables = { servers: boolean; mirrored: boolean; imported: boolean };
export const ALL_TABLES: TargetTables = { servers: true, mirrored: true, imported: true };

type Query = Pick<Db, "query"> | Conn;

/** For each given domain that exists here in any form, why it is left alone (one round trip). */
export async function existingDomains(q: Query, domains: string[], tables: TargetTables = ALL_TABLES): Promise<Map<string, Existing>> {
  const found = new Map<string, Existing>();
  if (domains.length === 0) return found;
  const parts: string[] = [];
  const params: unknown[] = [];
  if (tables.imported) parts.push("SELECT domain, 1 AS k, NULL AS origin FROM php_import_servers WHERE domain IN (?)"), params.push(domains);
  if (tables.servers) parts.push("SELECT domain, 2, NULL FROM servers WHERE domain IN (?)"), params.push(domains);
  if (tables.mirrored) parts.push("SELECT domain, 3, origin FROM mirrored_servers WHERE domain IN (?) AND deleted = 0"), params.push(domains);
  if (parts.length === 0) return found;
  const [rows] = await q.query<RowDataPacket[]>(`${parts.join(" UNION ALL ")} ORDER BY k`, params);
  // An earlier import is the more precise reason when a domain is both imported and still here (lowest k first).
  for (const r of rows) {
    if (found.has(r.domain)) continue;
    const k = Number(r.k);
    found.set(r.domain, k === 1 ? { kind: "imported_earlier" } : k === 2 ? { kind: "registered_here" } : { kind: "mirrored", origin: r.origin });
  }
  return found;
}

/** The width of ratings.user_id here (a longer PHP user id cannot be stored). */
export async function userIdMaxChars(db: Pick<Db, "query">): Promise<number> {
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT character_maximum_length AS n FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'ratings' AND column_name = 'user_id'",
  );
  return rows.length > 0 ? Number(rows[0].n) : 128;
}

export type BatchResult = { written: ImportedServer[]; existing: Map<string, Existing>; events: RegistryEvent[] };

/**
 * Writes the servers of one batch that do not exist here, with their ratings, in one transaction. The existence
 * check runs under the event lock, which every registration also takes before its INSERT: a registration racing
 * the import either commits first (the domain is then left alone here) or waits and gets 409 domain_taken.
 */
export async function writeBatch(
  db: Db,
  servers: ImportedServer[],
  ratings: Map<string, ImportedRating[]>,
  supersededIds: Map<string, number[]>,
  nowMs: number,
): Promise<BatchResult> {
  return inTransaction(db, async (conn) => {
    await lockEvents(conn);
    const existing = await existingDomains(conn, servers.map((s) => s.record.domain));
    const written = servers.filter((s) => !existing.has(s.record.domain));
    if (written.length === 0) return { written, existing, events: [] };
    const now = new Date(nowMs);
    await conn.query(
      `INSERT INTO servers (domain, origin, name, description, icon, api_url, ws_url, voice_url, voice_provider, cdn_url,
         protocols, capabilities, version, user_count, channel_count, verified, status, last_seen, created_at, updated_at,
         record_version, token_hash, token_issued_at, token_expires_at) VALUES ?`,
      [written.map((s) => serverRow(s, now))],
    );
    const rated = written.flatMap((s) => ratings.get(s.record.domain) ?? []);
    if (rated.length > 0) {
      await conn.query("INSERT INTO ratings (domain, user_id, rating, comment, created_at) VALUES ?", [
        rated.map((r) => [r.domain, r.userId, r.rating, r.comment, new Date(r.createdAtMs)]),
      ]);
    }
    await conn.query("INSERT INTO php_import_servers (domain, source_domain, imported_at) VALUES ?", [
      written.map((s) => [s.record.domain, s.sourceDomain, now]),
    ]);
    const handled = [...rated.map((r) => [r.sourceId, r.domain]), ...written.flatMap((s) => (supersededIds.get(s.record.domain) ?? []).map((id) => [id, s.record.domain]))];
    if (handled.length > 0) {
      await conn.query("INSERT INTO php_import_ratings (source_id, domain, imported_at) VALUES ?", [handled.map(([id, d]) => [id, d, now])]);
    }
    const [audit] = await conn.query<import("mysql2").ResultSetHeader>("INSERT INTO audit_log (at, actor, action, domain, detail) VALUES ?", [
      written.map((s) => [now, AUDIT_ACTOR, "server.import", s.record.domain, JSON.stringify(auditDetail(s, ratings))]),
    ]);
    // Lets inTransaction tell, after a lost COMMIT answer, whether the batch landed (src/store/db.ts).
    markCommit(conn, audit.insertId);
    const events = await appendEvents(
      conn,
      written.map((s) => ({ type: "server.registered" as const, domain: s.record.domain, origin: s.record.origin, atMs: nowMs, data: s.record.toPublic() })),
    );
    return { written, existing, events };
  });
}

/** One summary audit row per run: what was imported from where. */
export async function auditRun(db: Db, detail: Record<string, unknown>): Promise<void> {
  await db.query("INSERT INTO audit_log (at, actor, action, domain, detail) VALUES (UTC_TIMESTAMP(3), ?, 'import.run', NULL, ?)", [
    AUDIT_ACTOR, JSON.stringify(detail),
  ]);
}

function serverRow(s: ImportedServer, now: Date): unknown[] {
  const r = s.record;
  return [
    r.domain, r.origin, r.name, r.description, r.icon, r.apiUrl, r.wsUrl, r.voiceUrl, r.voiceProvider, r.cdnUrl,
    JSON.stringify(r.protocols), JSON.stringify(r.capabilities), r.version, r.userCount, r.channelCount, r.verified ? 1 : 0,
    r.status, new Date(r.lastSeenMs), new Date(r.createdAtMs), now, r.recordVersion, Buffer.from(r.tokenHash!, "hex"),
    new Date(r.tokenIssuedMs), new Date(s.tokenExpiresMs),
  ];
}

function auditDetail(s: ImportedServer, ratings: Map<string, ImportedRating[]>): Record<string, unknown> {
  const detail: Record<string, unknown> = { source_domain: s.sourceDomain, ratings: ratings.get(s.record.domain)?.length ?? 0 };
  if (s.problems.length > 0) detail.nonconforming = [...new Set(s.problems.map((p) => p.field))];
  if (s.tokenState !== "valid") detail.token = s.tokenState;
  return detail;
}
