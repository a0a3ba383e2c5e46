// MySQL connection pool (mysql2/promise): creates the database if missing, UTC everywhere.
import mysql from "mysql2/promise";
import { connectionOptions, parseDatabaseUrl, type DatabaseTarget } from "./mysql-url.js";

export type Db = mysql.Pool;
export type Conn = mysql.PoolConnection;

/** A DATABASE_URL or its parsed form (src/store/mysql-url.ts); either way its TLS options apply. */
export type DatabaseUrl = string | DatabaseTarget;

export function databaseTarget(url: DatabaseUrl): DatabaseTarget {
  return typeof url === "string" ? parseDatabaseUrl(url) : url;
}

/** Longest one statement may wait for MySQL's answer before its connection is presumed dead. */
export const STATEMENT_TIMEOUT_MS = 5_000;

export const POOL_DEFAULTS = {
  connectionLimit: 10,
  /** Callers waiting for a connection beyond this many are refused at once (503), not queued. */
  queueLimit: 1000,
  /** Longest a caller waits for a free connection before it is refused (503) rather than left hanging. */
  acquireTimeoutMs: 5_000,
} as const;

export type PoolOptions = { connectionLimit?: number; queueLimit?: number; acquireTimeoutMs?: number; statementTimeoutMs?: number };

/** Creates the database when it does not exist yet, then returns a pool on it. */
export async function openDb(url: DatabaseUrl, opts: PoolOptions = {}): Promise<Db> {
  const target = databaseTarget(url);
  const { database } = target;
  const options = connectionOptions(target);
  const admin = await mysql.createConnection({ ...options, connectTimeout: 5000 });
  try {
    await admin.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await admin.end();
  }
  const pool = mysql.createPool({
    ...options,
    database,
    connectionLimit: opts.connectionLimit ?? POOL_DEFAULTS.connectionLimit,
    maxIdle: opts.connectionLimit ?? POOL_DEFAULTS.connectionLimit,
    idleTimeout: 60_000,
    enableKeepAlive: true,
    connectTimeout: 2000,
    timezone: "Z",
    dateStrings: false,
    supportBigNumbers: true,
    bigNumberStrings: false,
    // Fail fast instead of queueing without bound when MySQL is slow or gone: callers answer 503.
    queueLimit: opts.queueLimit ?? POOL_DEFAULTS.queueLimit,
    multipleStatements: false,
    // Idle connections are closed with QUIT (an 'end' event the counters see) rather than destroyed silently.
    gracefulEnd: true,
  });
  const stats: PoolStats = { connections: 0, inUse: 0, waiting: 0 };
  pool.on("connection", (c) => {
    c.query("SET time_zone = '+00:00'");
    stats.connections++;
    // The same two events on which mysql2 drops a connection from its pool (lib/pool_connection.js).
    let open = true;
    const gone = () => {
      if (open) stats.connections--;
      open = false;
    };
    c.once("end", gone);
    c.once("error", gone);
    closers.set(c, gone);
  });
  POOL_STATS.set(pool, stats);
  return guardStatements(pool, stats, opts.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS, opts.acquireTimeoutMs ?? POOL_DEFAULTS.acquireTimeoutMs);
}

/** Pool counters kept by this module (never mysql2's private fields): open connections, checked out, waiting. */
export type PoolStats = { connections: number; inUse: number; waiting: number };
const POOL_STATS = new WeakMap<Db, PoolStats>();
/** Per core connection: marks it closed when this module destroys it (mysql2 emits nothing then). */
const closers = new WeakMap<object, () => void>();

export function poolStats(db: Db): Readonly<PoolStats> {
  return POOL_STATS.get(db) ?? { connections: 0, inUse: 0, waiting: 0 };
}

const GUARDED = ["query", "execute", "beginTransaction", "commit", "rollback", "ping"] as const;

/**
 * Gives every statement a deadline. When MySQL stops answering without resetting the connection (a network
 * partition, a frozen host), mysql2 waits for TCP to give up — many minutes — and every request behind that
 * connection hangs; its own `timeout` option neither frees the connection nor covers statements queued on it.
 * Past the deadline the connection is destroyed (a late answer could never be matched to a later statement) and
 * the caller gets a store-unavailable error, which the HTTP edge answers as 503 (issue 2).
 */
function guardStatements(pool: Db, stats: PoolStats, ms: number, acquireTimeoutMs: number): Db {
  const getConnection = pool.getConnection.bind(pool);
  pool.getConnection = async () => {
    stats.waiting++;
    let conn: Conn;
    try {
      conn = await acquireWithin(getConnection, acquireTimeoutMs);
    } catch (err) {
      nameCodelessError(err);
      throw err;
    } finally {
      stats.waiting--;
    }
    stats.inUse++;
    return guardConnection(conn, stats, ms);
  };
  // The pool's own query/execute bypass getConnection: route them through a guarded connection.
  for (const name of ["query", "execute"] as const) {
    (pool as unknown as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      const conn = await pool.getConnection();
      try {
        return await (conn[name] as (...a: unknown[]) => Promise<unknown>)(...args);
      } finally {
        conn.release();
      }
    };
  }
  return pool;
}

/**
 * mysql2 gives these no code; name them so isStoreUnavailable can stay a check of codes. "Queue limit reached." is
 * the pool running dry (review M4: it came out as a 500 where the contract wants 503 `unavailable`).
 */
function nameCodelessError(err: unknown): void {
  const e = err as Error & { code?: unknown };
  if (!e || typeof e !== "object" || e.code !== undefined) return;
  if (e.message === "Pool is closed.") e.code = "POOL_CLOSED";
  else if (e.message === "Queue limit reached.") e.code = "POOL_QUEUE_FULL";
}

/**
 * A pooled connection, or a store-unavailable error once `ms` passed without one. mysql2 has no such deadline:
 * behind a pool full of slow statements a caller would wait as long as they take. The abandoned request stays in
 * mysql2's queue; the connection it is eventually handed goes straight back to the pool.
 */
function acquireWithin(getConnection: () => Promise<Conn>, ms: number): Promise<Conn> {
  return new Promise<Conn>((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(Object.assign(new Error(`no MySQL connection free within ${ms} ms`), { code: "POOL_ACQUIRE_TIMEOUT" }));
    }, ms);
    getConnection().then(
      (conn) => {
        if (!late) {
          clearTimeout(timer);
          resolve(conn);
        } else conn.release();
      },
      (err) => {
        clearTimeout(timer);
        if (!late) reject(err);
      },
    );
  });
}

function guardConnection(conn: Conn, stats: PoolStats, ms: number): Conn {
  const core: object = conn.connection;
  let checkedOut = true;
  const checkIn = () => {
    if (checkedOut) stats.inUse--;
    checkedOut = false;
  };
  const release = conn.release.bind(conn);
  const destroy = conn.destroy.bind(conn);
  conn.release = () => {
    checkIn();
    release();
  };
  conn.destroy = () => {
    checkIn();
    closers.get(core)?.();
    destroy();
  };
  const kill = () => {
    conn.destroy();
    // destroy() only half-closes the socket; nobody is listening on the other side.
    (core as { stream?: { destroy?: () => void } }).stream?.destroy?.();
  };
  for (const name of GUARDED) {
    const raw = (conn[name] as (...a: unknown[]) => Promise<unknown>).bind(conn);
    (conn as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => withDeadline(raw(...args), ms, kill);
  }
  return conn;
}

function withDeadline<T>(p: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(Object.assign(new Error(`MySQL did not answer within ${ms} ms`), { code: "PROTOCOL_SEQUENCE_TIMEOUT", fatal: true }));
    }, ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * Runs fn in a transaction on one connection; rolls back on any error. When the connection dies while COMMIT is
 * in flight the outcome is unknown; if the transaction wrote an audit row (every client write does) that row tells,
 * so the caller gets the truth instead of a 503 for a write that landed (issue 2: such a registration stayed in
 * MySQL but not in memory, the domain "taken" with a token nobody had).
 */
export async function inTransaction<T>(db: Db, fn: (conn: Conn) => Promise<T>): Promise<T> {
  const conn = await db.getConnection();
  try {
    let result: T;
    try {
      await conn.beginTransaction();
      result = await fn(conn);
    } catch (err) {
      await conn.rollback().catch(() => conn.destroy());
      throw err;
    }
    try {
      await conn.commit();
    } catch (err) {
      // A server error reply is a definite failure; only a lost connection leaves the outcome open.
      if (!(err as { fatal?: boolean }).fatal) {
        await conn.rollback().catch(() => conn.destroy());
        throw err;
      }
      conn.destroy();
      const marker = commitMarkers.get(conn);
      if (marker !== undefined && (await auditRowCommitted(db, conn.threadId, marker)) === true) return result;
      throw err;
    }
    return result;
  } finally {
    conn.release();
  }
}

/** The audit row id a transaction wrote, per connection: after a lost COMMIT answer it shows whether it landed. */
const commitMarkers = new WeakMap<Conn, number>();

export function markCommit(conn: Conn, auditId: number): void {
  commitMarkers.set(conn, auditId);
}

/** How long a request may wait, after a lost COMMIT answer, for MySQL to say whether it committed. */
const COMMIT_RESOLVE_MS = 3_000;

/**
 * Whether the transaction that wrote audit row `auditId` on server thread `threadId` committed; null when MySQL
 * cannot be asked within COMMIT_RESOLVE_MS. The old session is killed and waited for first: until it is gone, a
 * COMMIT still travelling to it (a partition) could land after the check.
 */
async function auditRowCommitted(db: Db, threadId: number, auditId: number): Promise<boolean | null> {
  const until = Date.now() + COMMIT_RESOLVE_MS;
  while (Date.now() < until) {
    try {
      const c = await db.getConnection();
      try {
        await c.query("KILL CONNECTION ?", [threadId]).catch((err: { code?: string }) => {
          if (err.code !== "ER_NO_SUCH_THREAD") throw err;
        });
        for (;;) {
          const [alive] = await c.query<mysql.RowDataPacket[]>("SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = ?", [threadId]);
          if (alive.length === 0) break;
          if (Date.now() >= until) return null;
          await new Promise((r) => setTimeout(r, 20));
        }
        const [rows] = await c.query<mysql.RowDataPacket[]>("SELECT 1 FROM audit_log WHERE id = ?", [auditId]);
        return rows.length > 0;
      } finally {
        c.release();
      }
    } catch {
      // MySQL still unreachable: ask again until the budget is spent.
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return null;
}
