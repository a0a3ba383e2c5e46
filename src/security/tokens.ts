// Bearer parsing for the HTTP edge (RFC 6750); tokens themselves (generate, hash, expiry) live in src/core/tokens.ts.

/**
 * The token from an `Authorization: Bearer <token>` header, or null. The scheme is
 * case-insensitive (RFC 9110 §11.1); exactly one token in b64token syntax must follow (RFC 6750
 * §2.1), so `Bearer a b`, `Bearer` and other schemes are null. Whether it is a well-formed registrar
 * token is left to the hash check, so every bad token fails the same way.
 */
export function parseBearer(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^[ \t]*bearer +([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i.exec(header);
  return match ? match[1] : null;
}
