// The registrar_keys table (contract §8.3): the registrar's own generated signing key, shared by every node.
import type { RowDataPacket } from "mysql2/promise";
import type { Db } from "../store/db.js";

export type StoredRegistrarKey = { kid: string; publicKey: string; sealedPrivateKey: string; active: boolean };

/** How long a retired key is still published, so answers signed just before a rotation still verify. */
export const RETIRED_KEY_PUBLISHED_MS = 30 * 86_400_000;

export class RegistrarKeysRepo {
  constructor(private readonly db: Db) {}

  async active(): Promise<StoredRegistrarKey | null> {
    const [rows] = await this.db.query<RowDataPacket[]>("SELECT kid, public_key, private_key FROM registrar_keys WHERE active = 1");
    return rows.length ? { kid: rows[0].kid, publicKey: rows[0].public_key, sealedPrivateKey: rows[0].private_key, active: true } : null;
  }

  /**
   * Inserts `key` as the active key unless one exists. Nodes starting together each generate a key and race here;
   * the unique key on `active` lets exactly one INSERT through and the others are ignored, so every node then reads
   * the same winner with active().
   */
  async insertIfNoneActive(key: { kid: string; publicKey: string; sealedPrivateKey: string }): Promise<void> {
    await this.db.query(
      "INSERT IGNORE INTO registrar_keys (kid, active, public_key, private_key, created_at) VALUES (?, 1, ?, ?, UTC_TIMESTAMP(3))",
      [key.kid, key.publicKey, key.sealedPrivateKey],
    );
  }

  /** The public halves to publish: the active key and keys retired less than RETIRED_KEY_PUBLISHED_MS ago. */
  async published(nowMs: number): Promise<{ kid: string; publicKey: string }[]> {
    const [rows] = await this.db.query<RowDataPacket[]>(
      "SELECT kid, public_key FROM registrar_keys WHERE active = 1 OR retired_at > ? ORDER BY active DESC, created_at DESC",
      [new Date(nowMs - RETIRED_KEY_PUBLISHED_MS)],
    );
    return rows.map((r) => ({ kid: r.kid, publicKey: r.public_key }));
  }
}
