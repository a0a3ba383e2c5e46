// Migrations runner: applies migrations/NNN_*.sql in order under a named lock, recording each with its checksum.
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import mysql from "mysql2/promise";
import { PROJECT_ROOT } from "../paths.js";
import { databaseTarget, type DatabaseUrl } from "./db.js";
import { connectionOptions } from "./mysql-url.js";

export const MIGRATIONS_DIR = path.join(PROJECT_ROOT, "migrations");
const LOCK_NAME = "zent_registrar_migrations";

type Migration = { version: number; name: string; sql: string; checksum: string };

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (name) => {
      const sql = await readFile(path.join(dir, name), "utf8");
      return { version: Number(name.slice(0, 3)), name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    }),
  );
}

/** Applies pending migrations; safe to run twice and from several nodes at once. Returns the names applied. */
export async function migrate(databaseUrl: DatabaseUrl, dir = MIGRATIONS_DIR): Promise<string[]> {
  const target = databaseTarget(databaseUrl);
  const { database } = target;
  const conn = await mysql.createConnection({ ...connectionOptions(target), multipleStatements: true, connectTimeout: 5000 });
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    await conn.query(`USE \`${database}\``);
    const [[lock]] = await conn.query<mysql.RowDataPacket[]>("SELECT GET_LOCK(?, 60) AS got", [`${LOCK_NAME}:${database}`]);
    if (lock.got !== 1) throw new Error("could not take the migrations lock within 60 s");
    try {
      await conn.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version INT UNSIGNED NOT NULL PRIMARY KEY, name VARCHAR(255) NOT NULL,
           checksum CHAR(64) NOT NULL, applied_at DATETIME(3) NOT NULL) ENGINE=InnoDB`,
      );
      const [rows] = await conn.query<mysql.RowDataPacket[]>("SELECT version, name, checksum FROM schema_migrations");
      const applied = new Map(rows.map((r) => [Number(r.version), r]));
      const done: string[] = [];
      for (const m of await loadMigrations(dir)) {
        const prior = applied.get(m.version);
        if (prior) {
          if (prior.checksum !== m.checksum) throw new Error(`migration ${m.name} changed after it was applied (checksum mismatch)`);
          continue;
        }
        await conn.query(m.sql);
        await conn.query("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, UTC_TIMESTAMP(3))", [
          m.version, m.name, m.checksum,
        ]);
        done.push(m.name);
      }
      return done;
    } finally {
      await conn.query("SELECT RELEASE_LOCK(?)", [`${LOCK_NAME}:${database}`]);
    }
  } finally {
    await conn.end();
  }
}
