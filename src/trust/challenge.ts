// Challenges for the proof of domain control (contract §8.1, §8.2): generation and constant-time comparison.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** §8.1: at least 32 random bytes. 32 bytes are 43 base64url characters. */
export const CHALLENGE_BYTES = 32;

export function generateChallenge(): string {
  return randomBytes(CHALLENGE_BYTES).toString("base64url");
}

/** The shape this registrar issues; anything else found in a document cannot be one of its challenges. */
export function isChallenge(value: string): boolean {
  return /^[A-Za-z0-9_-]{43,128}$/.test(value);
}

/**
 * Constant-time equality. A challenge is public once published, but the comparison costs nothing extra and keeps
 * a pending (not yet published) challenge from leaking through timing. Hashing first makes the lengths equal.
 */
export function challengesMatch(found: string, expected: string): boolean {
  const a = createHash("sha256").update(found, "utf8").digest();
  const b = createHash("sha256").update(expected, "utf8").digest();
  return timingSafeEqual(a, b) && found.length === expected.length;
}
