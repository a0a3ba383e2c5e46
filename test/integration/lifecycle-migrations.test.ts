// The migrations runner: idempotent, safe when several nodes start at once, and loud when an applied migration
// was edited afterwards (its checksum no longer matches).
import { appendFile, cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { RowDataPacket } from "mysql2/promise";
import { afterAll, describe, expect, it } from "vitest";
import { loadMigrations, migrate, MIGRATIONS_DIR } from "../../src/store/migrate.js";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";

describe("migrate()", () => {
  const urls: string[] = [];
  const dirs: string[] = [];
  const fresh = (label: string) => {
    const u = freshDatabaseUrl(label);
    urls.push(u);
    return u;
  };
  afterAll(async () => {
    for (const u of urls) await dropDatabase(u);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  async function schema(url: string) {
    const db = await connect(url);
    try {
      const [cols] = await db.query<RowDataPacket[]>(
        "SELECT table_name AS t, column_name AS c, column_type AS ty FROM information_schema.columns WHERE table_schema = DATABASE() ORDER BY t, c",
      );
      const [applied] = await db.query<RowDataPacket[]>("SELECT version, name, checksum FROM schema_migrations ORDER BY version");
      return { cols: cols.map((r) => `${r.t}.${r.c} ${r.ty}`), applied: applied.map((r) => `${r.version} ${r.name} ${r.checksum}`) };
    } finally {
      await db.end();
    }
  }

  it("applies every migration once and is a no-op the second time", async () => {
    const url = fresh("mig2x");
    const all = (await loadMigrations()).map((m) => m.name);
    expect(all.length).toBeGreaterThan(0);
    expect(await migrate(url)).toEqual(all);
    const before = await schema(url);
    expect(before.applied).toHaveLength(all.length);
    expect(await migrate(url)).toEqual([]);
    expect(await schema(url)).toEqual(before);
  });

  it("lets two concurrent runs on a fresh database both succeed, each migration applied exactly once", async () => {
    const url = fresh("migconc");
    const all = (await loadMigrations()).map((m) => m.name);
    const [a, b] = await Promise.all([migrate(url), migrate(url)]);
    expect([...a, ...b].sort()).toEqual(all);
    expect((await schema(url)).applied).toHaveLength(all.length);
  });

  it("fails loudly when an applied migration was changed, and still applies a newly added one", async () => {
    const url = fresh("migsum");
    const dir = await mkdtemp(path.join(os.tmpdir(), "zent-migrations-"));
    dirs.push(dir);
    await cp(MIGRATIONS_DIR, dir, { recursive: true });
    await migrate(url, dir);
    const first = (await loadMigrations(dir))[0].name;

    await writeFile(path.join(dir, "999_test_extra.sql"), "CREATE TABLE test_extra (id INT PRIMARY KEY) ENGINE=InnoDB;\n");
    expect(await migrate(url, dir)).toEqual(["999_test_extra.sql"]);

    await appendFile(path.join(dir, first), "\n-- edited after it was applied\n");
    await expect(migrate(url, dir)).rejects.toThrow(new RegExp(`${first}.*checksum`));
  });
});
