// For Zent servers: generate an identity key and build the `.well-known/zent` document to publish (contract §8.1).
import { exportJWK, exportPKCS8, generateKeyPair, type JWK } from "jose";
import type { IdentityKey, ZentDocument } from "./trust-types.js";

const KID = /^[A-Za-z0-9._:-]{1,64}$/;
const RAW_KEY = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

export type GeneratedIdentityKey = {
  privateKey: CryptoKey;
  /** base64url of the raw public key: the document's `public_key`. */
  publicKey: string;
  /** PKCS#8 PEM of the private key, to store it. */
  privateKeyPem: string;
};

/** A new Ed25519 key pair for signing identity assertions. */
export async function generateIdentityKey(): Promise<GeneratedIdentityKey> {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  return { privateKey, publicKey: await publicKeyOf(publicKey), privateKeyPem: await exportPKCS8(privateKey) };
}

/** The base64url raw public key of an Ed25519 public (or private) key. */
export async function publicKeyOf(key: CryptoKey | JWK): Promise<string> {
  const jwk: JWK = isJwk(key) ? key : await exportJWK(key);
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.x !== "string") throw new TypeError("not an Ed25519 key");
  return jwk.x;
}

function isJwk(key: CryptoKey | JWK): key is JWK {
  return typeof (key as JWK).kty === "string";
}

export type DocumentKeyInput = {
  kid: string;
  /** A CryptoKey, a JWK, or the base64url raw public key. */
  publicKey: CryptoKey | JWK | string;
  validUntil: Date | string;
};

/**
 * The document to serve at `https://<domain>/.well-known/zent`: `registrars` maps each registrar id to the challenge
 * it issued (verification or recovery), `keys` are the server's current signing keys.
 */
export async function buildZentDocument(input: { domain: string; registrars: Record<string, string>; keys?: DocumentKeyInput[] }): Promise<ZentDocument> {
  const keys: IdentityKey[] = [];
  for (const k of input.keys ?? []) {
    if (!KID.test(k.kid)) throw new RangeError(`kid ${JSON.stringify(k.kid)} must be 1-64 characters of A-Z a-z 0-9 . _ : -`);
    const publicKey = typeof k.publicKey === "string" ? k.publicKey : await publicKeyOf(k.publicKey);
    if (!RAW_KEY.test(publicKey)) throw new RangeError(`key ${k.kid} is not a base64url 32-byte Ed25519 public key`);
    const until = new Date(k.validUntil);
    if (Number.isNaN(until.getTime())) throw new RangeError(`key ${k.kid} has an invalid validUntil`);
    keys.push({ kid: k.kid, alg: "Ed25519", public_key: publicKey, valid_until: until.toISOString() });
  }
  if (new Set(keys.map((k) => k.kid)).size !== keys.length) throw new RangeError("kids must be distinct");
  return { domain: input.domain.toLowerCase(), registrars: { ...input.registrars }, keys };
}
