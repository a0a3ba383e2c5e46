// The domain_keys table (contract §8.3): each domain's keys from its last successful document fetch.
import type { RowDataPacket } from "mysql2/promise";
import type { IdentityKey } from "../../client/trust-types.js";
import type { Conn, Db } from "../store/db.js";

export type StoredKeys = { domain: string; keys: IdentityKey[]; fetchedAtMs: number };

export class DomainKeysRepo {
  constructor(private readonly db: Db) {}

  /** Replaces the domain's key set (at every successful fetch, §8.1), in the caller's transaction when given. */
  async put(domain: string, keys: readonly IdentityKey[], fetchedAtMs: number, conn: Conn | Db = this.db): Promise<void> {
    await conn.query(
      "INSERT INTO domain_keys (domain, keys_json, fetched_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE keys_json = VALUES(keys_json), fetched_at = VALUES(fetched_at)",
      [domain, JSON.stringify(keys), new Date(fetchedAtMs)],
    );
  }

  async get(domain: string): Promise<StoredKeys | null> {
    const [rows] = await this.db.query<RowDataPacket[]>("SELECT keys_json, fetched_at FROM domain_keys WHERE domain = ?", [domain]);
    if (rows.length === 0) return null;
    return { domain, keys: JSON.parse(rows[0].keys_json) as IdentityKey[], fetchedAtMs: (rows[0].fetched_at as Date).getTime() };
  }

  async remove(domain: string, conn: Conn | Db = this.db): Promise<void> {
    await conn.query("DELETE FROM domain_keys WHERE domain = ?", [domain]);
  }
}
