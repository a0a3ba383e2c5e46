// Checks the `Zent-Signature` of a registrar response (contract §8.3): Ed25519 over the exact body bytes.
import { base64url, importJWK } from "jose";
import type { RegistrarKeys } from "./trust-types.js";

export type ParsedSignature = { registrar: string; kid: string; signature: Uint8Array };

/** `<registrar id>;<kid>;<base64url signature>`, or null when the header is not of that form. */
export function parseZentSignature(header: string | null | undefined): ParsedSignature | null {
  if (typeof header !== "string" || header.length > 1024) return null;
  const m = /^([a-z0-9][a-z0-9.-]{0,252});([A-Za-z0-9._:-]{1,64});([A-Za-z0-9_-]{86})$/.exec(header.trim());
  if (!m) return null;
  try {
    const signature = base64url.decode(m[3]);
    return signature.length === 64 ? { registrar: m[1], kid: m[2], signature } : null;
  } catch {
    return null;
  }
}

/**
 * True when `header` is a valid signature of `body` (the bytes exactly as received) by one of `registrar`'s keys
 * (from its `/.well-known/zent-registrar`, fetched once and pinned by the caller). The registrar named in the
 * header must be the one whose keys are given.
 */
export async function verifyZentSignature(body: Uint8Array | string, header: string | null | undefined, registrar: RegistrarKeys): Promise<boolean> {
  const sig = parseZentSignature(header);
  if (!sig || sig.registrar !== registrar.registrar) return false;
  const key = registrar.keys.find((k) => k.kid === sig.kid && k.alg === "Ed25519");
  if (!key) return false;
  const publicKey = (await importJWK({ kty: "OKP", crv: "Ed25519", x: key.public_key }, "EdDSA")) as CryptoKey;
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  return crypto.subtle.verify({ name: "Ed25519" }, publicKey, sig.signature as BufferSource, bytes as BufferSource);
}
