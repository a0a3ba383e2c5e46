// Opening this registrar's database for an import: migrated first for a real run; for a dry run, read as it is
// (nothing created or migrated), naming what a real run would apply first.
import mysql from "mysql2/promise";
import { databaseTarget, openDb, type Db } from "../store/db.js";
import { connectionOptions } from "../store/mysql-url.js";
import { loadMigrations, migrate } from "../store/migrate.js";
import type { TargetTables } from "./import-store.js";

export type Target = {
  /** null: a dry run against a database that does not exist yet (every domain is new). */
  db: Db | null;
  tables: TargetTables;
  pendingMigrations: string[];
  display: string;
  close(): Promise<void>;
};

export function displayUrl(url: string): string {
  const u = new URL(url);
  return `mysql://${u.username ? `${decodeURIComponent(u.username)}@` : ""}${u.host}${u.pathname}`;
}


export async function openTarget(databaseUrl: string, dryRun: boolean): Promise<Target> {
  const display = displayUrl(databaseUrl);
  if (!dryRun) {
    const applied = await migrate(databaseUrl);
    const db = await openDb(databaseUrl, { connectionLimit: 4, statementTimeoutMs: 60_000 });
    return { db, tables: { servers: true, mirrored: true, imported: true }, pendingMigrations: applied, display, close: () => db.end() };
  }
  const target = databaseTarget(databaseUrl);
  const database = target.database;
  const probe = await mysql.createConnection({ ...connectionOptions(target), connectTimeout: 5000 });
  let tables: Set<string>;
  let applied: Set<string>;
  try {
    const [t] = await probe.query<mysql.RowDataPacket[]>("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = ?", [database]);
    tables = new Set(t.map((r) => r.t as string));
    applied = new Set();
    if (tables.has("schema_migrations")) {
      const [m] = await probe.query<mysql.RowDataPacket[]>(`SELECT name FROM \`${database}\`.schema_migrations`);
      applied = new Set(m.map((r) => r.name as string));
    }
  } finally {
    await probe.end();
  }
  const pendingMigrations = (await loadMigrations()).map((m) => m.name).filter((n) => !applied.has(n));
  const has = { servers: tables.has("servers"), mirrored: tables.has("mirrored_servers"), imported: tables.has("php_import_servers") };
  if (tables.size === 0) return { db: null, tables: has, pendingMigrations, display, close: async () => {} };
  const db = await openDb(databaseUrl, { connectionLimit: 2, statementTimeoutMs: 60_000 });
  return { db, tables: has, pendingMigrations, display, close: () => db.end() };
}
