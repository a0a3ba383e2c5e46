// Server tokens (contract §3): generation, the stored SHA-256 form, constant-time checks and the one expiry rule.
import * as nodeCrypto from "node:crypto";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { DAY_MS } from "./units.js";

const oneShotHash = (nodeCrypto as { hash?: (alg: string, data: string, enc: "buffer") => Buffer }).hash;

const TOKEN_PATTERN = /^[0-9a-f]{64}$/;
const HASH_HEX_LENGTH = 64;

/** A new token: 32 random bytes (256 bits) as 64 lower-case hex characters. */
export function generateToken(): string {
  return randomBytes(32).toString("hex");
}

/**
 * The stored form of a token: SHA-256, 32 bytes. A fast hash is enough here, unlike for passwords:
 * a token is 256 uniformly random bits, so there is no dictionary to try and brute force over 2^256
 * is hopeless however fast each guess is. A slow KDF would only add CPU cost to every
 * authenticated request. What the hash buys is that a leaked table holds no usable token.
 */
export function hashToken(token: string): Buffer {
  // crypto.hash (Node ≥ 20.12) is the one-shot form: no Hash object per request.
  if (typeof oneShotHash === "function") return oneShotHash("sha256", token, "buffer") as Buffer;
  return createHash("sha256").update(token, "utf8").digest();
}

/**
 * The hex SHA-256 of a presented token, or null when it is not a registrar token at all. The edge hashes once and
 * sends only this to the actor, so no raw token crosses the cluster (security review H5). The format check leaks
 * nothing secret (the format is public) and keeps odd input out of the hash.
 */
export function tokenHashOf(presented: string | null): string | null {
  if (typeof presented !== "string" || !TOKEN_PATTERN.test(presented)) return null;
  return hashToken(presented).toString("hex");
}

/** Whether two hex SHA-256 hashes are equal, compared in constant time (equal lengths always). */
export function hashesMatch(presentedHex: string | null, storedHex: string | null): boolean {
  if (presentedHex === null || storedHex === null) return false;
  if (presentedHex.length !== HASH_HEX_LENGTH || storedHex.length !== HASH_HEX_LENGTH) return false;
  // Every character is compared whatever differs first (no early exit), without the two Buffers a
  // timingSafeEqual needs: this runs on every heartbeat.
  let diff = 0;
  for (let i = 0; i < HASH_HEX_LENGTH; i++) diff |= presentedHex.charCodeAt(i) ^ storedHex.charCodeAt(i);
  return diff === 0;
}

/** Whether `presented` is the token behind `storedHash`, compared in constant time. */
export function tokensMatch(presented: string, storedHash: Buffer): boolean {
  if (typeof presented !== "string" || !TOKEN_PATTERN.test(presented)) return false;
  if (storedHash.length !== 32) return false;
  return timingSafeEqual(hashToken(presented), storedHash);
}

/** TOKEN_TTL_DAYS and TOKEN_MAX_AGE_DAYS in whole milliseconds (decimal days are rounded to the nearest ms). */
export type TokenPolicy = Readonly<{ ttlMs: number; maxAgeMs: number }>;

export function tokenPolicy(ttlDays: number, maxAgeDays: number): TokenPolicy {
  for (const [name, value] of Object.entries({ ttlDays, maxAgeDays })) {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number, got ${value}`);
  }
  return Object.freeze({ ttlMs: Math.round(ttlDays * DAY_MS), maxAgeMs: Math.round(maxAgeDays * DAY_MS) });
}

/** What the expiry rule reads from a record: when the token was issued and last used. */
export type TokenClock = { tokenIssuedMs: number; tokenActivityMs: number };

/** THE expiry rule: sliding (TTL after the last activity) capped by the absolute age after issue (contract §3). */
export function tokenExpiresMs(rec: TokenClock, policy: TokenPolicy): number {
  return Math.min(rec.tokenActivityMs + policy.ttlMs, rec.tokenIssuedMs + policy.maxAgeMs);
}

/** The inverse the store needs: the last activity implied by a stored sliding expiry. */
export function activityFromExpiresMs(expiresMs: number, policy: TokenPolicy): number {
  return expiresMs - policy.ttlMs;
}

export interface TokenTimes {
  issuedAtMs: number;
  /** Last authenticated heartbeat or update (the issue time for a fresh token). */
  lastActivityMs: number;
  /** TOKEN_TTL_DAYS: sliding lifetime after the last activity. Decimals allowed. */
  ttlDays: number;
  /** TOKEN_MAX_AGE_DAYS: absolute lifetime after issue, whatever the activity. Decimals allowed. */
  maxAgeDays: number;
}

export interface TokenExpiry {
  /** When the token stops working unless used again: the earlier of the two limits. */
  expiresAtMs: number;
  /** When it stops working regardless of use. */
  absoluteExpiresAtMs: number;
}

/** Expiry instants of one token, with input checks (the same rule as tokenExpiresMs). */
export function tokenExpiry(times: TokenTimes): TokenExpiry {
  const { issuedAtMs, lastActivityMs } = times;
  for (const [name, value] of Object.entries({ issuedAtMs, lastActivityMs })) {
    if (!Number.isFinite(value)) throw new RangeError(`${name} must be a finite number, got ${value}`);
  }
  const policy = tokenPolicy(times.ttlDays, times.maxAgeDays);
  return {
    expiresAtMs: tokenExpiresMs({ tokenIssuedMs: issuedAtMs, tokenActivityMs: lastActivityMs }, policy),
    absoluteExpiresAtMs: issuedAtMs + policy.maxAgeMs,
  };
}

/** Whether the token is past its expiry at `nowMs`; the expiry instant itself counts as expired. */
export function isTokenExpired(times: TokenTimes & { nowMs: number }): boolean {
  return times.nowMs >= tokenExpiry(times).expiresAtMs;
}
