// MySQL connection pool (mysql2/promise): creates the database if missing, UTC everywhere.
import mysql from "mysql2/promise";

export type Db = mysql.Pool;
export type Conn = mysql.PoolConnection;

export function parseDatabaseUrl(url: string): { options: mysql.PoolOptions; database: string } {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\//, "")) || "zent_registrar";
  if (!/^[A-Za-z0-9_$]{1,64}$/.test(database)) throw new Error(`invalid database name ${database}`);
  return {
    database,
    options: {
      host: u.hostname,
      port: u.port ? Number(u.port) : 3306,
      user: decodeURIComponent(u.username || "root"),
      password: decodeURIComponent(u.password || ""),
    },
  };
}

/** Creates the database when it does not exist yet, then returns a pool on it. */
export async function openDb(url: string, opts: { connectionLimit?: number } = {}): Promise<Db> {
  const { options, database } = parseDatabaseUrl(url);
  const admin = await mysql.createConnection({ ...options, connectTimeout: 5000 });
  try {
    await admin.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await admin.end();
  }
  return mysql.createPool({
    ...options,
    database,
    connectionLimit: opts.connectionLimit ?? 10,
    maxIdle: opts.connectionLimit ?? 10,
    idleTimeout: 60_000,
    enableKeepAlive: true,
    connectTimeout: 2000,
    timezone: "Z",
    dateStrings: false,
    supportBigNumbers: true,
    bigNumberStrings: false,
    // Fail fast instead of queueing forever when MySQL is gone: callers answer 503.
    queueLimit: 1000,
    multipleStatements: false,
  }).on("connection", (c) => {
    c.query("SET time_zone = '+00:00'");
  });
}

/** Runs fn in a transaction on one connection; rolls back on any error. */
export async function inTransaction<T>(db: Db, fn: (conn: Conn) => Promise<T>): Promise<T> {
  const conn = await db.getConnection();
  try {
    await conn.beginTransaction();
    const result = await fn(conn);
    await conn.commit();
    return result;
  } catch (err) {
    await conn.rollback().catch(() => conn.destroy());
    throw err;
  } finally {
    conn.release();
  }
}
