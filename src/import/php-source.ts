// The PHP registrar's database, read-only: checks its schema, pages through `servers` by primary key, reads ratings.
import mysql from "mysql2/promise";
import { connectionOptions, DatabaseUrlError, parseDatabaseUrl, type DatabaseTarget } from "../store/mysql-url.js";

/** A `servers` row as read (shared/background/php-database.md); JSON columns arrive as their JSON text. */
export type PhpServerRow = {
  domain: string;
  name: string | null;
  api_url: string | null;
  ws_url: string | null;
  voice_url: string | null;
  voice_provider: string | null;
  cdn_url: string | null;
  protocols: string | null;
  capabilities: string | null;
  description: string | null;
  icon: string | null;
  version: string | null;
  user_count: number | null;
  channel_count: number | null;
  verified: number | null;
  server_token: string | null;
  token_expires_at: Date | null;
  last_seen: Date | null;
  created_at: Date | null;
};

export type PhpRatingRow = { id: number; domain: string; user_id: string | null; rating: number | null; comment: string | null; created_at: Date | null };

const SERVER_COLUMNS = [
  "domain", "name", "api_url", "ws_url", "voice_url", "voice_provider", "cdn_url", "protocols", "capabilities", "description",
  "icon", "version", "user_count", "channel_count", "verified", "server_token", "token_expires_at", "last_seen", "created_at",
] as const;
const RATING_COLUMNS = ["id", "domain", "user_id", "rating", "comment", "created_at"] as const;

export class SourceError extends Error {}

/**
 * `mysql://user:password@host:port/database[?ssl-mode=…]`, read like DATABASE_URL (src/store/mysql-url.ts, TLS
 * included); the database must be named (there is no sensible default).
 */
export function parseSourceUrl(url: string): { options: mysql.ConnectionOptions; database: string; display: string } {
  let u: URL;
  let target: DatabaseTarget;
  try {
    u = new URL(url);
    target = parseDatabaseUrl(url);
  } catch (err) {
    const why = err instanceof DatabaseUrlError ? `${err.message}; ` : "";
    throw new SourceError(`${why}the PHP database must be given as a mysql:// URL, for example mysql://user:password@host:3306/registrar`);
  }
  if (!u.pathname.replace(/^\//, "")) throw new SourceError("the PHP database URL must name the database: mysql://user:password@host/<database>");
  // The password is never printed: the report names the source without it.
  const display = `mysql://${u.username ? `${decodeURIComponent(u.username)}@` : ""}${u.host}/${target.database}`;
  return { database: target.database, display, options: { ...connectionOptions(target), database: target.database } };
}

export class PhpSource {
  private constructor(
    private readonly conn: mysql.Connection,
    readonly display: string,
  ) {}

  /**
   * `timeZone` is the PHP database server's zone (its DATETIMEs were written with NOW()): "+00:00" on the deployed
   * host. mysql2 turns each DATETIME into the instant it names in that zone.
   */
  static async open(url: string, timeZone: string): Promise<PhpSource> {
    const { options, database, display } = parseSourceUrl(url);
    let conn: mysql.Connection;
    try {
      conn = await mysql.createConnection({ ...options, timezone: timeZone, connectTimeout: 10_000, dateStrings: false, supportBigNumbers: true });
    } catch (err) {
      throw new SourceError(`cannot connect to the PHP database ${display}: ${(err as Error).message}`, { cause: err });
    }
    const source = new PhpSource(conn, display);
    try {
      await source.checkSchema(database);
    } catch (err) {
      await conn.end();
      throw err;
    }
    return source;
  }

  private async checkSchema(database: string): Promise<void> {
    const [rows] = await this.conn.query<mysql.RowDataPacket[]>(
      "SELECT table_name AS t, column_name AS c FROM information_schema.columns WHERE table_schema = ? AND table_name IN ('servers', 'ratings')",
      [database],
    );
    const have = new Set(rows.map((r) => `${r.t}.${r.c}`));
    for (const [table, columns] of [["servers", SERVER_COLUMNS], ["ratings", RATING_COLUMNS]] as const) {
      const missing = columns.filter((c) => !have.has(`${table}.${c}`));
      if (missing.length > 0) {
        throw new SourceError(`${this.display} is not a PHP registrar database: table ${table} lacks ${missing.join(", ")}`);
      }
    }
  }

  async countServers(): Promise<number> {
    const [[row]] = await this.conn.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM servers");
    return Number(row.n);
  }

  /** Every server, `pageSize` at a time, in primary-key order (a keyset walk: no OFFSET, no long-held snapshot). */
  async *servers(pageSize: number): AsyncGenerator<PhpServerRow[]> {
    let after: string | null = null;
    for (;;) {
      const [rows] = await this.conn.query<mysql.RowDataPacket[]>(
        `SELECT ${SERVER_COLUMNS.map((c) => (c === "protocols" || c === "capabilities" ? `CAST(${c} AS CHAR) AS ${c}` : c)).join(", ")}
         FROM servers ${after === null ? "" : "WHERE domain > ?"} ORDER BY domain LIMIT ?`,
        after === null ? [pageSize] : [after, pageSize],
      );
      if (rows.length === 0) return;
      yield rows as PhpServerRow[];
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1].domain as string;
    }
  }

  /** The ratings of these servers (as spelled in `servers`; the collation matches any case), oldest first. */
  async ratingsOf(domains: string[]): Promise<PhpRatingRow[]> {
    if (domains.length === 0) return [];
    const [rows] = await this.conn.query<mysql.RowDataPacket[]>(
      `SELECT ${RATING_COLUMNS.join(", ")} FROM ratings WHERE domain IN (?) ORDER BY created_at, id`,
      [domains],
    );
    return rows.map((r) => ({ ...r, id: Number(r.id) }) as PhpRatingRow);
  }

  async close(): Promise<void> {
    await this.conn.end();
  }
}
