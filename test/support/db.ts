// Per-test-file databases: each test file gets a fresh one and drops it afterwards.
import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { inject } from "vitest";

export function mysqlBaseUrl(): string {
  return inject("mysqlUrl");
}

/** A DATABASE_URL naming a database that does not exist yet (the registrar creates it). */
export function freshDatabaseUrl(label = "t"): string {
  const name = `zt_${label.replace(/[^a-z0-9]/gi, "").slice(0, 20)}_${randomBytes(4).toString("hex")}`;
  return `${mysqlBaseUrl()}/${name}`;
}

export async function dropDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = u.pathname.slice(1);
  const conn = await mysql.createConnection({ host: u.hostname, port: Number(u.port || 3306), user: u.username || "root", password: u.password });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
  } finally {
    await conn.end();
  }
}

/** A plain connection to the test database, for assertions on what was persisted. */
export async function connect(url: string): Promise<mysql.Connection> {
  const u = new URL(url);
  return mysql.createConnection({
    host: u.hostname, port: Number(u.port || 3306), user: u.username || "root", password: u.password,
    database: u.pathname.slice(1), timezone: "Z",
  });
}
