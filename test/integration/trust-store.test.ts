// The trust tables of migration 006 against real MariaDB: upgrade of existing rows, the cluster-wide single use of
// assertion ids, one registrar key for nodes that start together, domain keys.
import { copyFile, mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { RowDataPacket } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDb, type Db } from "../../src/store/db.js";
import { migrate, MIGRATIONS_DIR } from "../../src/store/migrate.js";
import { AuditReader } from "../../src/trust/audit-reader.js";
import { BansRepo } from "../../src/trust/bans-repo.js";
import { ChallengesRepo } from "../../src/trust/challenges-repo.js";
import { ChecksRepo } from "../../src/trust/checks-repo.js";
import { DomainKeysRepo } from "../../src/trust/domain-keys-repo.js";
import { MysqlJtiLedger } from "../../src/trust/jti-ledger.js";
import { RegistrarKeysRepo } from "../../src/trust/registrar-keys-repo.js";
import { RegistrarSigner } from "../../src/trust/registrar-signer.js";
import { SecretBox } from "../../src/webhooks/secrets.js";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";

describe("trust store (migration 006)", () => {
  const url = freshDatabaseUrl("trust");
  let nodeA: Db;
  let nodeB: Db;
  let oldDir: string;

  beforeAll(async () => {
    // Upgrade path: a database at 004 with a server and a rating, then the rest.
    oldDir = await mkdtemp(path.join(os.tmpdir(), "zent-mig-"));
    for (const f of (await readdir(MIGRATIONS_DIR)).filter((f) => /^00[1-4]_/.test(f))) await copyFile(path.join(MIGRATIONS_DIR, f), path.join(oldDir, f));
    await migrate(url, oldDir);
    nodeA = await openDb(url);
    await nodeA.query(
      `INSERT INTO servers (domain, origin, name, api_url, protocols, capabilities, last_seen, created_at, updated_at)
       VALUES ('old.example.com', 'local', 'Old', 'https://old.example.com/api', '[]', '[]', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3), UTC_TIMESTAMP(3))`,
    );
    await nodeA.query("INSERT INTO ratings (domain, user_id, rating, comment, created_at) VALUES ('old.example.com', 'bob', 4, 'ok', UTC_TIMESTAMP(3))");
    expect(await migrate(url)).toContain("006_trust.sql");
    nodeB = await openDb(url);
  });
  afterAll(async () => {
    await nodeA?.end();
    await nodeB?.end();
    await rm(oldDir, { recursive: true, force: true });
    await dropDatabase(url);
  });

  it("keeps existing rows: servers unverified, old ratings anonymous", async () => {
    const [[srv]] = await nodeA.query<RowDataPacket[]>("SELECT verified, verified_at, verified_challenge FROM servers WHERE domain = 'old.example.com'");
    expect(srv).toEqual({ verified: 0, verified_at: null, verified_challenge: null });
    const [[r]] = await nodeA.query<RowDataPacket[]>("SELECT user_id, home_domain, verified, proof, rating FROM ratings");
    expect(r).toEqual({ user_id: "bob", home_domain: null, verified: 0, proof: "anonymous", rating: 4 });
    // A full identity through the legacy route fits: 128-char user id, '@', 253-char domain.
    const identity = `${"u".repeat(128)}@${"d".repeat(63)}.${"e".repeat(63)}.${"f".repeat(63)}.${"g".repeat(61)}`;
    expect(identity.length).toBe(382);
    await nodeA.query("INSERT INTO ratings (domain, user_id, home_domain, rating, created_at, verified, proof) VALUES ('old.example.com', ?, 'x.example', 5, UTC_TIMESTAMP(3), 1, 'token')", [identity]);
  });

  it("accepts an assertion id once, whichever node sees it, even when both race", async () => {
    const ledgers = [new MysqlJtiLedger(nodeA), new MysqlJtiLedger(nodeB)];
    const exp = Date.now() + 300_000;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => ledgers[i % 2].consume("chat.example.com", "jti-race", exp)));
    expect(results.filter(Boolean)).toHaveLength(1);
    // Same jti from another issuer is another id.
    expect(await ledgers[1].consume("other.example.com", "jti-race", exp)).toBe(true);
  });

  it("prunes only expired ids", async () => {
    const ledger = new MysqlJtiLedger(nodeA);
    const now = Date.now();
    await ledger.consume("chat.example.com", "old-1", now - 1000);
    await ledger.consume("chat.example.com", "old-2", now - 1000);
    await ledger.consume("chat.example.com", "live", now + 60_000);
    expect(await ledger.prune(now, 1)).toBe(2);
    expect(await ledger.consume("chat.example.com", "live", now + 60_000)).toBe(false);
  });

  it("gives nodes that start at the same moment one and the same registrar key", async () => {
    const box = new SecretBox(undefined);
    const signers = await Promise.all(
      [nodeA, nodeB, nodeA, nodeB].map((db) => RegistrarSigner.load({ registrarId: "reg.example.org", repo: new RegistrarKeysRepo(db), box })),
    );
    expect(new Set(signers.map((s) => s.kid)).size).toBe(1);
    expect(new Set(signers.map((s) => s.wellKnownBody().toString())).size).toBe(1);
    const [rows] = await nodeA.query<RowDataPacket[]>("SELECT kid, active, private_key FROM registrar_keys");
    expect(rows).toHaveLength(1);
    expect(rows[0].private_key).toMatch(/^plain:-----BEGIN PRIVATE KEY-----/);
    // A later start reads it back.
    const again = await RegistrarSigner.load({ registrarId: "reg.example.org", repo: new RegistrarKeysRepo(nodeB), box });
    expect(again.kid).toBe(signers[0].kid);
  });

  it("replaces a domain's key set as a whole", async () => {
    const repo = new DomainKeysRepo(nodeA);
    const key = { kid: "k1", alg: "Ed25519" as const, public_key: "JK1PzajS1dHCMwg03XSFZOVXkL8EZdcLdvUV-KMDx4k", valid_until: "2027-01-01T00:00:00.000Z" };
    await repo.put("chat.example.com", [key, { ...key, kid: "k2" }], 1_000);
    await repo.put("chat.example.com", [{ ...key, kid: "k3" }], 2_000);
    expect(await repo.get("chat.example.com")).toEqual({ domain: "chat.example.com", keys: [{ ...key, kid: "k3" }], fetchedAtMs: 2_000 });
    await repo.remove("chat.example.com");
    expect(await repo.get("chat.example.com")).toBeNull();
  });

  it("answers the same pending challenge until it expires, also to concurrent requests from two nodes", async () => {
    const a = new ChallengesRepo(nodeA);
    const b = new ChallengesRepo(nodeB);
    const t0 = Date.now();
    const first = await Promise.all([a.pending("old.example.com", "recover", 3_600_000, t0), b.pending("old.example.com", "recover", 3_600_000, t0)]);
    expect(first[0]).toEqual(first[1]);
    expect(first[0].expiresAtMs - first[0].createdAtMs).toBe(3_600_000);
    // Another purpose is another challenge.
    const verify = await a.pending("old.example.com", "verify", 7 * 86_400_000, t0);
    expect(verify.challenge).not.toBe(first[0].challenge);
    expect(await b.pending("old.example.com", "recover", 3_600_000, t0 + 1000)).toEqual(first[0]);
    // Past its expiry it is gone, and the next request gets a new one.
    expect(await a.get("old.example.com", "recover", t0 + 3_600_001)).toBeNull();
    const next = await a.pending("old.example.com", "recover", 3_600_000, t0 + 3_600_001);
    expect(next.challenge).not.toBe(first[0].challenge);
    await a.remove("old.example.com", "recover");
    expect(await a.get("old.example.com", "recover", t0)).toBeNull();
    expect(await a.get("old.example.com", "verify", t0)).toEqual(verify);
    // Challenges go with their server.
    await nodeA.query("DELETE FROM servers WHERE domain = 'old.example.com'");
    expect(await a.get("old.example.com", "verify", t0)).toBeNull();
  });

  it("keeps bans: first time kept on a re-ban, listed newest first, each change audited", async () => {
    const bans = new BansRepo(nodeA);
    const op = { kind: "admin" as const, id: "operator" };
    expect(await bans.put("spam.example.com", "spam", op, 1_000)).toEqual({ domain: "spam.example.com", reason: "spam", created_at: new Date(1_000).toISOString() });
    expect(await bans.put("spam.example.com", "spam and phishing", op, 5_000)).toMatchObject({ reason: "spam and phishing", created_at: new Date(1_000).toISOString() });
    await bans.put("b.example.com", "b", op, 2_000);
    expect(await bans.isBanned("spam.example.com")).toBe(true);
    expect(await bans.list()).toEqual([
      { domain: "b.example.com", reason: "b", created_at: new Date(2_000).toISOString() },
      { domain: "spam.example.com", reason: "spam and phishing", created_at: new Date(1_000).toISOString() },
    ]);
    expect(await bans.remove("spam.example.com", op)).toBe(true);
    expect(await bans.remove("spam.example.com", op)).toBe(false);
    expect(await bans.isBanned("spam.example.com")).toBe(false);
    const [rows] = await nodeA.query<RowDataPacket[]>("SELECT actor, action FROM audit_log WHERE domain = 'spam.example.com' ORDER BY id");
    expect(rows.map((r) => `${r.actor} ${r.action}`)).toEqual(["admin:operator admin.ban", "admin:operator admin.ban", "admin:operator admin.unban"]);
  });

  it("tracks re-checks: due ones oldest first, failures counted, success resets", async () => {
    const checks = new ChecksRepo(nodeA);
    await checks.watch("a.example.com", "local", 1_000, 5_000);
    await checks.watch("b.example.com", "peer.example.org", 1_000, 3_000);
    await checks.watch("c.example.com", "local", 1_000, 9_000);
    expect((await checks.due(6_000, 10)).map((c) => c.domain)).toEqual(["b.example.com", "a.example.com"]);
    await checks.record("a.example.com", "local", { nowMs: 6_000, ok: false, reason: "timeout", firstFailureAtMs: 6_000, nextCheckAtMs: 7_000 });
    await checks.record("a.example.com", "local", { nowMs: 7_000, ok: false, reason: "http_status", firstFailureAtMs: 6_000, nextCheckAtMs: 8_000 });
    expect(await checks.get("a.example.com", "local")).toEqual({ domain: "a.example.com", origin: "local", nextCheckAtMs: 8_000, firstFailureAtMs: 6_000, failures: 2 });
    await checks.record("a.example.com", "local", { nowMs: 8_000, ok: true, reason: null, firstFailureAtMs: null, nextCheckAtMs: 20_000 });
    expect(await checks.get("a.example.com", "local")).toMatchObject({ firstFailureAtMs: null, failures: 0, nextCheckAtMs: 20_000 });
    await checks.unwatch("b.example.com", null);
    expect((await checks.due(10_000, 10)).map((c) => c.domain)).toEqual(["c.example.com"]);
  });

  it("reads the audit log newest first, by domain, before an id or a time", async () => {
    for (const [i, domain] of ["x.example.com", "y.example.com", "x.example.com"].entries()) {
      await nodeA.query("INSERT INTO audit_log (at, actor, action, domain, detail) VALUES (?, 'admin:operator', ?, ?, ?)", [
        new Date(Date.UTC(2026, 0, 1, 0, 0, i)), `act.${i}`, domain, JSON.stringify({ i }),
      ]);
    }
    const reader = new AuditReader(nodeA);
    const all = await reader.entries({ domain: "x.example.com", limit: 10 });
    expect(all.map((e) => [e.action, e.detail])).toEqual([["act.2", { i: 2 }], ["act.0", { i: 0 }]]);
    expect(all[0]).toMatchObject({ actor: "admin:operator", domain: "x.example.com", at: "2026-01-01T00:00:02.000Z" });
    expect((await reader.entries({ domain: "x.example.com", limit: 10, before: all[0].id })).map((e) => e.action)).toEqual(["act.0"]);
    expect((await reader.entries({ limit: 10, before: new Date(Date.UTC(2026, 0, 1, 0, 0, 2)) })).map((e) => e.action).slice(0, 2)).toEqual(["act.1", "act.0"]);
    expect(await reader.entries({ limit: 1 })).toHaveLength(1);
  });
});
