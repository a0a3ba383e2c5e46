// The audit log is pruned past AUDIT_RETENTION_DAYS on a schedule, in chunks, and keeps everything newer.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pruneAudit } from "../../src/store/audit-repo.js";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

describe("audit log retention", () => {
  const dbUrl = freshDatabaseUrl("auditret");
  let reg: InProcessRegistrar;
  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, AUDIT_RETENTION_DAYS: "30" });
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("deletes rows older than the window and keeps newer ones", async () => {
    const body = newServer();
    expect((await api(reg.url).post("/v1/servers", body)).status).toBe(201);
    const db = await connect(dbUrl);
    try {
      const old = Date.now() - 40 * 86_400_000;
      const rows = Array.from({ length: 12 }, (_, i) => [new Date(old + i), "ip:10.0.0.1", "server.register", `old${i}.example.com`]);
      await db.query("INSERT INTO audit_log (at, actor, action, domain) VALUES ?", [rows]);
      const deleted = await pruneAudit(reg.node.db, Date.now() - 30 * 86_400_000, 5);
      expect(deleted).toBe(12);
      const [left] = await db.query<any[]>("SELECT domain FROM audit_log");
      expect(left.map((r) => r.domain)).toEqual([body.domain]);
    } finally {
      await db.end();
    }
  });
});
