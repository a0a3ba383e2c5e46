// Single use of identity-assertion ids (contract §8.3 "a jti is accepted once"), across every node of a cluster.
import type { ResultSetHeader } from "mysql2/promise";
import type { Db } from "../store/db.js";

/** The port the assertion verifier uses; `consume` is true the first time (iss, jti) is seen, false on a replay. */
export interface JtiLedger {
  consume(iss: string, jti: string, expiresAtMs: number): Promise<boolean>;
}

/**
 * MySQL keeps the ledger: the primary key (iss, jti) makes the second INSERT fail whichever node runs it, so a
 * replay sent to two nodes at once is accepted by exactly one. A row is useless after its assertion expired
 * (the expiry check refuses it first), so rows are pruned after `expires_at`.
 */
export class MysqlJtiLedger implements JtiLedger {
  constructor(private readonly db: Db) {}

  async consume(iss: string, jti: string, expiresAtMs: number): Promise<boolean> {
    try {
      await this.db.query("INSERT INTO assertion_jtis (iss, jti, expires_at) VALUES (?, ?, ?)", [iss, jti, new Date(expiresAtMs)]);
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === "ER_DUP_ENTRY") return false;
      throw err;
    }
  }

  /** Deletes expired ids in small chunks (no long lock); returns how many. */
  async prune(nowMs: number, chunk = 5000): Promise<number> {
    let total = 0;
    for (;;) {
      const [res] = await this.db.query<ResultSetHeader>("DELETE FROM assertion_jtis WHERE expires_at < ? LIMIT ?", [new Date(nowMs), chunk]);
      total += res.affectedRows;
      if (res.affectedRows < chunk) return total;
    }
  }
}

/** An in-memory ledger for unit tests and single-process tools. */
export class MemoryJtiLedger implements JtiLedger {
  private readonly seen = new Map<string, number>();

  async consume(iss: string, jti: string, expiresAtMs: number): Promise<boolean> {
    const key = `${iss} ${jti}`;
    if (this.seen.has(key)) return false;
    this.seen.set(key, expiresAtMs);
    return true;
  }
}
