// Server tokens: generation, storage hash, constant-time check, Bearer parsing, expiry (contract §3).

import * as nodeCrypto from "node:crypto";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

const oneShotHash = (nodeCrypto as { hash?: (alg: string, data: string, enc: "buffer") => Buffer }).hash;

const TOKEN_PATTERN = /^[0-9a-f]{64}$/;
const DAY_MS = 86_400_000;

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

/** Whether `presented` is the token behind `storedHash`, compared in constant time. */
export function tokensMatch(presented: string, storedHash: Buffer): boolean {
  // The format check leaks nothing secret (the format is public) and keeps odd input out of the
  // hash; comparing hashes, not tokens, also makes the compared lengths always equal.
  if (typeof presented !== "string" || !TOKEN_PATTERN.test(presented)) return false;
  if (storedHash.length !== 32) return false;
  return timingSafeEqual(hashToken(presented), storedHash);
}

/**
 * The token from an `Authorization: Bearer <token>` header, or null. The scheme is
 * case-insensitive (RFC 9110 §11.1); exactly one token in b64token syntax must follow (RFC 6750
 * §2.1), so `Bearer a b`, `Bearer` and other schemes are null. Whether it is a well-formed registrar
 * token is left to tokensMatch, so every bad token fails the same way.
 */
export function parseBearer(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^[ \t]*bearer +([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i.exec(header);
  return match ? match[1] : null;
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

/** Expiry instants in whole milliseconds (decimal days are rounded to the nearest ms). */
export function tokenExpiry(times: TokenTimes): TokenExpiry {
  const { issuedAtMs, lastActivityMs, ttlDays, maxAgeDays } = times;
  for (const [name, value] of Object.entries({ issuedAtMs, lastActivityMs })) {
    if (!Number.isFinite(value)) throw new RangeError(`${name} must be a finite number, got ${value}`);
  }
  for (const [name, value] of Object.entries({ ttlDays, maxAgeDays })) {
    if (!Number.isFinite(value) || value < 0) {
      throw new RangeError(`${name} must be a non-negative number, got ${value}`);
    }
  }
  const absoluteExpiresAtMs = issuedAtMs + Math.round(maxAgeDays * DAY_MS);
  const slidingExpiresAtMs = lastActivityMs + Math.round(ttlDays * DAY_MS);
  return { expiresAtMs: Math.min(slidingExpiresAtMs, absoluteExpiresAtMs), absoluteExpiresAtMs };
}

/** Whether the token is past its expiry at `nowMs`; the expiry instant itself counts as expired. */
export function isTokenExpired(times: TokenTimes & { nowMs: number }): boolean {
  return times.nowMs >= tokenExpiry(times).expiresAtMs;
}
