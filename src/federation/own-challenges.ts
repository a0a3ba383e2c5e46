// The standing challenge of each of this registrar's verified records, for the changes it publishes (contract §8.6:
// the challenge travels with the record). Only a shard owner holds it in memory, so the publisher reads MySQL.
import type { RowDataPacket } from "mysql2/promise";
import type { Db } from "../store/db.js";

type Known = { verifiedAt: string | null; challenge: string | null };

export class OwnChallenges {
  private readonly known = new Map<string, Known>();

  constructor(
    private readonly db: Db,
    private readonly self: string,
  ) {}

  /** Every record that has a challenge (at publisher start). */
  async load(): Promise<void> {
    this.known.clear();
    const [rows] = await this.db.query<RowDataPacket[]>(
      "SELECT domain, verified_at, verified_challenge FROM servers WHERE origin = ? AND verified_challenge IS NOT NULL",
      [this.self],
    );
    for (const r of rows) this.known.set(r.domain, { verifiedAt: r.verified_at ? (r.verified_at as Date).toISOString() : null, challenge: r.verified_challenge });
  }

  /**
   * The challenge for a record whose public `verified_at` is `verifiedAt`, or undefined when this copy may be stale:
   * a challenge changes only together with verified_at (a new proof, a recovery, a lapse, the operator's word).
   */
  current(domain: string, verifiedAt: string | null): string | null | undefined {
    const k = this.known.get(domain);
    if (!k) return verifiedAt === null ? null : undefined;
    return k.verifiedAt === verifiedAt ? k.challenge : undefined;
  }

  /** Re-reads one record's challenge. */
  async refresh(domain: string): Promise<void> {
    const [rows] = await this.db.query<RowDataPacket[]>("SELECT verified_at, verified_challenge FROM servers WHERE domain = ? AND origin = ?", [domain, this.self]);
    const r = rows[0];
    if (!r || (r.verified_challenge === null && r.verified_at === null)) this.known.delete(domain);
    else this.known.set(domain, { verifiedAt: r.verified_at ? (r.verified_at as Date).toISOString() : null, challenge: r.verified_challenge });
  }

  forget(domain: string): void {
    this.known.delete(domain);
  }
}
