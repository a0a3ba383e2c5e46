// Bearer authentication for the webhook routes, checked against MySQL so it holds on every node of a cluster
// (a token rotated through another node stops working here at once, contract §3).
import type { RowDataPacket } from "mysql2/promise";
import { AUTH_MESSAGES, NotOwnerError, TokenExpiredError, UnauthorizedError } from "../core/errors.js";
import { tokensMatch } from "../core/tokens.js";
import type { Db } from "../store/db.js";

/**
 * Resolves when `token` is the current, unexpired token of the locally owned `domain`. Mirrored records answer
 * 403 whatever the token (contract §6); unknown domains and wrong tokens the same 401 (contract §1). The stored
 * expiry is the sliding one capped by the absolute one; heartbeats extend it through the write-behind, so it
 * may lag by one flush interval.
 */
export async function authenticateOwner(db: Db, registrarId: string, domain: string | null, token: string | null, nowMs = Date.now()): Promise<void> {
  const unauthorized = () => new UnauthorizedError(AUTH_MESSAGES.unauthorized);
  if (domain === null) throw unauthorized();
  const [rows] = await db.query<RowDataPacket[]>("SELECT origin, token_hash, token_expires_at FROM servers WHERE domain = ?", [domain]);
  const row = rows[0];
  if (row && row.origin !== registrarId) throw new NotOwnerError(`${domain} belongs to registrar ${row.origin}; manage its webhooks there`);
  if (!row || !row.token_hash || token === null || !tokensMatch(token, Buffer.from(row.token_hash as Buffer))) throw unauthorized();
  if (row.token_expires_at && nowMs >= (row.token_expires_at as Date).getTime()) {
    throw new TokenExpiredError(AUTH_MESSAGES.tokenExpired);
  }
}
