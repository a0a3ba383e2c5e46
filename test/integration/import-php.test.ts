// The PHP database import (contract §7, issue 11) against real MariaDB: a database with the deployed PHP schema and
// rows like the real ones, imported into a migrated registrar database; counts, report, rows, events, idempotency.
import type { Connection, RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { importPhp } from "../../src/import/php-import.js";
import type { ImportReport } from "../../src/import/report.js";
import { hashToken } from "../../src/core/tokens.js";
import { migrate } from "../../src/store/migrate.js";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { commentOfBytes, createPhpDatabase, insertPhpRows, phpConnection, phpSample } from "../support/php-db.js";

const OFFLINE_AFTER_S = 300;
const NOW = Date.now();

function config(databaseUrl: string) {
  return loadConfig({ DATABASE_URL: databaseUrl, OFFLINE_AFTER_S: String(OFFLINE_AFTER_S), REGISTRAR_ID: "reg.example.net" });
}

/** Everything an import may change, to compare before and after. */
async function snapshot(db: Connection) {
  const q = async (sql: string) => ((await db.query<RowDataPacket[]>(sql))[0] as RowDataPacket[]).map((r) => JSON.stringify(r));
  return {
    servers: await q("SELECT *, HEX(token_hash) AS th FROM servers ORDER BY domain"),
    ratings: await q("SELECT * FROM ratings ORDER BY id"),
    events: await q("SELECT * FROM events ORDER BY seq"),
    audit: await q("SELECT id, actor, action, domain, detail FROM audit_log ORDER BY id"),
    markers: await q("SELECT domain, source_domain FROM php_import_servers ORDER BY domain"),
    ratingMarkers: await q("SELECT source_id FROM php_import_ratings ORDER BY source_id"),
  };
}

/** A report without what differs between two runs of the same import (timings, the dry-run flag). */
const comparable = (r: ImportReport) => ({ ...r, dryRun: undefined, startedAt: undefined, durationMs: undefined, pendingMigrations: undefined });

describe("npm run import:php: a PHP registrar database into this registrar", () => {
  const phpUrl = freshDatabaseUrl("php");
  const targetUrl = freshDatabaseUrl("imp");
  const sample = phpSample(NOW);
  let db: Connection;
  let first: ImportReport;
  let dry: ImportReport;
  let beforeDry: Awaited<ReturnType<typeof snapshot>>;

  beforeAll(async () => {
    await createPhpDatabase(phpUrl);
    await insertPhpRows(phpUrl, Object.values(sample.servers), sample.ratings);
    await migrate(targetUrl);
    db = await connect(targetUrl);
    beforeDry = await snapshot(db);
    dry = await importPhp({ config: config(targetUrl), sourceUrl: phpUrl, dryRun: true });
    first = await importPhp({ config: config(targetUrl), sourceUrl: phpUrl, dryRun: false });
  });
  afterAll(async () => {
    await db?.end();
    await dropDatabase(phpUrl);
    await dropDatabase(targetUrl);
  });

  it("counts what it read and did: 7 servers imported (5 online, 2 offline), 7 ratings read, 5 imported", () => {
    expect(first.dryRun).toBe(false);
    expect(first.servers).toMatchObject({ read: 7, imported: 7, online: 5, offline: 2, alreadyImported: 0, existingHere: [], notImported: [] });
    expect(first.ratings).toMatchObject({ read: 7, imported: 5, superseded: 1, importedLater: 0, olderThanHere: 0, ofServersNotImported: 0 });
    expect(first.ratings.invalid).toEqual([{ sourceId: expect.any(Number), domain: "gamers.example.net", reason: "rating 9 is not 1–5" }]);
    expect(first.servers.expiredTokens).toEqual(["expired.example.com"]);
    expect(first.source).toBe(phpUrl);
  });

  it("lists every row that breaks a §2 rule with the field and the reason, and imports it as it is", async () => {
    const byDomain = Object.fromEntries(first.servers.nonConforming.map((n) => [n.domain, n.problems]));
    expect(Object.keys(byDomain).sort()).toEqual(["gamers.example.net", "long.example.com", "odd-json.example.com", "old.example.org"]);
    expect(byDomain["old.example.org"].map((p) => p.field).sort()).toEqual(["api_url", "ws_url"]);
    expect(byDomain["gamers.example.net"].map((p) => p.field).sort()).toEqual(["api_url", "capabilities"]);
    expect([...new Set(byDomain["long.example.com"].map((p) => p.field))].sort()).toEqual(["description", "name", "version", "voice_provider"]);
    expect(byDomain["odd-json.example.com"]).toEqual([
      { field: "protocols", message: "was an object: its keys with a true value were kept" },
      { field: "capabilities", message: 'was the string "voice": imported as a list of it' },
    ]);
    const [[long]] = await db.query<RowDataPacket[]>("SELECT name, description, version, voice_provider FROM servers WHERE domain = 'long.example.com'");
    expect(long).toEqual({
      name: sample.servers.tooLong.name, description: sample.servers.tooLong.description, version: sample.servers.tooLong.version,
      voice_provider: sample.servers.tooLong.voice_provider,
    });
  });

  it("keeps every field: lower-cased domain, capabilities object → keys with a true value, stats, verified, created_at and last_seen", async () => {
    const [[row]] = await db.query<RowDataPacket[]>("SELECT * FROM servers WHERE domain = 'chat.example.com'");
    const src = sample.servers.mixedCase;
    expect(row).toMatchObject({
      origin: "reg.example.net", name: src.name, description: src.description, icon: src.icon, api_url: src.api_url, ws_url: src.ws_url,
      voice_url: src.voice_url, voice_provider: "livekit", cdn_url: src.cdn_url, version: "1.4.2", user_count: 120, channel_count: 14,
      verified: 1, status: "online", record_version: 1,
    });
    expect(JSON.parse(row.capabilities)).toEqual(["voice", "federation"]);
    expect(JSON.parse(row.protocols)).toEqual(["zent-v1"]);
    expect((row.last_seen as Date).getTime()).toBe(src.last_seen.getTime());
    expect((row.created_at as Date).getTime()).toBe(src.created_at.getTime());
    const [[odd]] = await db.query<RowDataPacket[]>("SELECT ws_url, voice_provider, protocols, capabilities FROM servers WHERE domain = 'odd-json.example.com'");
    expect(odd).toEqual({ ws_url: null, voice_provider: "livekit", protocols: '["zent-v1"]', capabilities: '["voice"]' });
    const [[old]] = await db.query<RowDataPacket[]>("SELECT voice_provider, capabilities FROM servers WHERE domain = 'old.example.org'");
    expect(old).toEqual({ voice_provider: null, capabilities: "[]" });
  });

  it("stores each token as its SHA-256 only, sliding expiry from PHP, absolute expiry counted from the import", async () => {
    const [rows] = await db.query<RowDataPacket[]>("SELECT domain, HEX(token_hash) AS h, token_issued_at, token_expires_at FROM servers");
    const byDomain = new Map(rows.map((r) => [r.domain, r]));
    for (const s of Object.values(sample.servers)) {
      const row = byDomain.get(s.domain.toLowerCase())!;
      expect(String(row.h).toLowerCase()).toBe(hashToken(s.server_token).toString("hex"));
      expect((row.token_expires_at as Date).getTime()).toBe(s.token_expires_at!.getTime());
      expect((row.token_issued_at as Date).getTime()).toBeGreaterThanOrEqual(NOW);
    }
    // No table holds a token in clear.
    const everything = JSON.stringify(await snapshot(db));
    for (const s of Object.values(sample.servers)) expect(everything).not.toContain(s.server_token);
  });

  it("decides status from last_seen against OFFLINE_AFTER_S: a month-old one is offline, a minute-old one online", async () => {
    const [rows] = await db.query<RowDataPacket[]>("SELECT domain, status FROM servers ORDER BY domain");
    expect(Object.fromEntries(rows.map((r) => [r.domain, r.status]))).toEqual({
      "chat.example.com": "online", "expired.example.com": "offline", "gamers.example.net": "online", "long.example.com": "online",
      "odd-json.example.com": "online", "old.example.org": "offline", "plain.example.io": "online",
    });
  });

  it("keeps ratings' user id, rating, whole comment (2,000 bytes) and time; the newest of a user's ratings wins", async () => {
    const [rows] = await db.query<RowDataPacket[]>("SELECT domain, user_id, rating, comment, created_at FROM ratings ORDER BY domain, user_id");
    expect(rows.map((r) => [r.domain, r.user_id, r.rating])).toEqual([
      // utf8mb4_bin order: digits, upper case, lower case.
      ["chat.example.com", "3f2b9c1e-8a5d-4f7e-9b1a-2c3d4e5f6a7b", 3],
      ["chat.example.com", "Bob Smith", 4],
      ["chat.example.com", "alice", 4],
      ["gamers.example.net", "carol", 5],
      ["old.example.org", "user-123@old.example.org", 2],
    ]);
    const bob = rows.find((r) => r.user_id === "Bob Smith")!;
    expect(bob.comment).toBe(commentOfBytes(2000));
    expect(Buffer.byteLength(bob.comment)).toBe(2000);
    expect((bob.created_at as Date).getTime()).toBe(sample.ratings[1].created_at.getTime());
    expect(rows.find((r) => r.user_id === "carol")!.comment).toBe("");
  });

  it("writes one server.registered event per server with its public record, and an audit row each plus one for the run", async () => {
    const [events] = await db.query<RowDataPacket[]>("SELECT seq, type, domain, origin, data FROM events ORDER BY seq");
    expect(events).toHaveLength(7);
    expect(events.every((e) => e.type === "server.registered" && e.origin === "reg.example.net")).toBe(true);
    expect(events.map((e) => Number(e.seq))).toEqual([1, 2, 3, 4, 5, 6, 7]);
    const chat = JSON.parse(events.find((e) => e.domain === "chat.example.com")!.data);
    expect(chat).toMatchObject({ domain: "chat.example.com", status: "online", capabilities: ["voice", "federation"], rating: { average: 3.67, count: 3 }, verified: true });
    expect(chat.last_seen).toBe(sample.servers.mixedCase.last_seen.toISOString());
    const [audit] = await db.query<RowDataPacket[]>("SELECT actor, action, domain, detail FROM audit_log ORDER BY id");
    expect(audit.filter((a) => a.action === "server.import")).toHaveLength(7);
    expect(audit.every((a) => a.actor === "import:php")).toBe(true);
    expect(JSON.parse(audit.find((a) => a.domain === "chat.example.com")!.detail)).toEqual({ source_domain: "Chat.Example.COM", ratings: 3 });
    expect(audit.at(-1)).toMatchObject({ action: "import.run", domain: null });
  });

  it("gave on a dry run beforehand the same report as the real run, and changed nothing", () => {
    expect(dry.dryRun).toBe(true);
    expect(comparable(dry)).toEqual(comparable(first));
    expect(beforeDry.servers).toEqual([]);
    expect(beforeDry.events).toEqual([]);
  });

  it("changes nothing on a second run, and reports every server as imported by the earlier run", async () => {
    const before = await snapshot(db);
    const again = await importPhp({ config: config(targetUrl), sourceUrl: phpUrl, dryRun: false });
    const after = await snapshot(db);
    expect(after.servers).toEqual(before.servers);
    expect(after.ratings).toEqual(before.ratings);
    expect(after.events).toEqual(before.events);
    expect(after.markers).toEqual(before.markers);
    // Only the run's own summary audit row is new.
    expect(after.audit.slice(0, -1)).toEqual(before.audit);
    expect(again.servers).toMatchObject({ read: 7, imported: 0, alreadyImported: 7, existingHere: [], nonConforming: [] });
    expect(again.ratings).toMatchObject({ imported: 0, importedLater: 0, olderThanHere: 0 });
  });

  it("never brings back a server its owner removed here since the earlier run", async () => {
    await db.query("DELETE FROM servers WHERE domain = 'plain.example.io'");
    const again = await importPhp({ config: config(targetUrl), sourceUrl: phpUrl, dryRun: false });
    expect(again.servers).toMatchObject({ imported: 0, alreadyImported: 7 });
    const [[n]] = await db.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM servers WHERE domain = 'plain.example.io'");
    expect(Number(n.n)).toBe(0);
  });

  it("copies ratings made at the PHP registrar since the earlier run, once, with a rating.created event", async () => {
    const php = await phpConnection(phpUrl);
    try {
      await php.query("INSERT INTO ratings (domain, user_id, rating, comment, created_at) VALUES ('CHAT.example.com', 'dave', 2, 'late', UTC_TIMESTAMP())");
      // alice rates again at PHP: newer than her imported rating, so it replaces it.
      await php.query("INSERT INTO ratings (domain, user_id, rating, comment, created_at) VALUES ('chat.example.com', 'alice', 1, 'changed my mind', UTC_TIMESTAMP())");
    } finally {
      await php.end();
    }
    const seqBefore = await maxSeq(db);
    const dryLater = await importPhp({ config: config(targetUrl), sourceUrl: phpUrl, dryRun: true });
    expect(await maxSeq(db)).toBe(seqBefore);
    const later = await importPhp({ config: config(targetUrl), sourceUrl: phpUrl, dryRun: false });
    expect(later.ratings).toMatchObject({ importedLater: 2, olderThanHere: 0, imported: 0 });
    expect(comparable(dryLater)).toEqual(comparable(later));
    const [rows] = await db.query<RowDataPacket[]>("SELECT user_id, rating, comment FROM ratings WHERE domain = 'chat.example.com' ORDER BY user_id");
    expect(rows.map((r) => [r.user_id, r.rating])).toEqual([["3f2b9c1e-8a5d-4f7e-9b1a-2c3d4e5f6a7b", 3], ["Bob Smith", 4], ["alice", 1], ["dave", 2]]);
    const [events] = await db.query<RowDataPacket[]>("SELECT type, data FROM events WHERE seq > ? ORDER BY seq", [seqBefore]);
    expect(events.map((e) => e.type)).toEqual(["rating.created", "rating.created"]);
    expect(JSON.parse(events[1].data).summary).toEqual({ average: 2.5, count: 4, sum: 10 });
    const third = await importPhp({ config: config(targetUrl), sourceUrl: phpUrl, dryRun: false });
    expect(third.ratings).toMatchObject({ importedLater: 0, olderThanHere: 0 });
    expect(await maxSeq(db)).toBe(seqBefore + 2);
  });
});

describe("npm run import:php next to servers registered here", () => {
  const phpUrl = freshDatabaseUrl("php2");
  const targetUrl = freshDatabaseUrl("imp2");
  const sample = phpSample(NOW);
  let db: Connection;
  afterAll(async () => {
    await db?.end();
    await dropDatabase(phpUrl);
    await dropDatabase(targetUrl);
  });

  it("leaves a domain that exists here alone, reports it, and imports the others", async () => {
    await createPhpDatabase(phpUrl);
    await insertPhpRows(phpUrl, Object.values(sample.servers), sample.ratings);
    await migrate(targetUrl);
    db = await connect(targetUrl);
    await db.query(
      `INSERT INTO servers (domain, origin, name, api_url, protocols, capabilities, status, last_seen, created_at, updated_at)
       VALUES ('chat.example.com', 'reg.example.net', 'Registered here', 'https://chat.example.com/new', '[]', '[]', 'online', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))`,
    );
    await db.query(
      `INSERT INTO mirrored_servers (domain, origin, version, changed_at, received_at, via, record)
       VALUES ('plain.example.io', 'peer.example.org', 3, UTC_TIMESTAMP(3), UTC_TIMESTAMP(3), 'peer.example.org', '{}')`,
    );
    const report = await importPhp({ config: config(targetUrl), sourceUrl: phpUrl, dryRun: false });
    expect(report.servers.imported).toBe(5);
    expect(report.servers.existingHere).toEqual([
      { domain: "chat.example.com", sourceDomain: "Chat.Example.COM", reason: "registered here" },
      { domain: "plain.example.io", sourceDomain: "plain.example.io", reason: "mirrored from registrar peer.example.org" },
    ]);
    expect(report.ratings.ofServersNotImported).toBe(3);
    const [[chat]] = await db.query<RowDataPacket[]>("SELECT name, api_url, token_hash FROM servers WHERE domain = 'chat.example.com'");
    expect(chat).toEqual({ name: "Registered here", api_url: "https://chat.example.com/new", token_hash: null });
    const [[r]] = await db.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM ratings WHERE domain = 'chat.example.com'");
    expect(Number(r.n)).toBe(0);
    const [[e]] = await db.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM events WHERE domain IN ('chat.example.com', 'plain.example.io')");
    expect(Number(e.n)).toBe(0);
  });
});

async function maxSeq(db: Connection): Promise<number> {
  const [[r]] = await db.query<RowDataPacket[]>("SELECT COALESCE(MAX(seq), 0) AS s FROM events");
  return Number(r.s);
}
