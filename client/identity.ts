// Identity assertions (contract §8.3): create one from an Ed25519 key, verify one against its issuer's keys.
// Browser-safe (jose and WebCrypto only); the registrar verifies with this same code, so the rules cannot drift.
import { decodeJwt, decodeProtectedHeader, errors, importJWK, importPKCS8, jwtVerify, SignJWT, type JWTPayload } from "jose";
import type { IdentityKey } from "./trust-types.js";

export const ASSERTION_TYPE = "zent-identity+jwt";
export const ASSERTION_ALG = "EdDSA";
/** §8.3: exp - iat ≤ 600 s. */
export const MAX_ASSERTION_LIFETIME_S = 600;
/** A server's clock may run a little ahead of the verifier's; an `iat` further in the future is refused. */
export const ASSERTION_CLOCK_SKEW_S = 30;
/** Far above any real assertion (≈ 400 bytes); refuses hostile inputs before any decoding. */
export const MAX_ASSERTION_CHARS = 4096;

const SUBJECT = /^[a-z0-9._-]{1,64}$/;
const KID = /^[A-Za-z0-9._:-]{1,64}$/;
const JTI = /^[\x21-\x7e]{1,128}$/;
const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const DOMAIN = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})+$`);
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Why an assertion was refused: stable names for logs and tests; the registrar answers every one as 401. */
export type AssertionRejection =
  | "malformed" | "unsupported_alg" | "wrong_type" | "bad_subject" | "wrong_audience" | "expired" | "lifetime_too_long"
  | "issued_in_future" | "unknown_issuer" | "unknown_kid" | "key_expired" | "bad_signature" | "replayed";

export class InvalidAssertionError extends Error {
  constructor(
    readonly reason: AssertionRejection,
    message: string,
  ) {
    super(message);
    this.name = "InvalidAssertionError";
  }
}

export type VerifiedIdentity = { identity: string; iss: string; sub: string; exp: number; iat: number; jti: string; kid: string };

/** The issuer's keys (from its document or a registrar's key directory), or null when it is unknown/unverified. */
export type IssuerKeys = (iss: string) => Promise<readonly IdentityKey[] | null>;

export type VerifyAssertionOptions = {
  /** The registrar id (or other audience) the assertion must name in `aud`. */
  audience: string;
  keys: IssuerKeys | readonly IdentityKey[];
  nowMs?: number;
};

type Claims = { iss: string; sub: string; aud: string; iat: number; exp: number; jti: string };

function reject(reason: AssertionRejection, message: string): never {
  throw new InvalidAssertionError(reason, message);
}

/** The header and claims as written, checked for shape and time before any key is looked up. */
function inspect(assertion: string, audience: string, nowS: number): { kid: string; claims: Claims } {
  if (typeof assertion !== "string" || assertion.length > MAX_ASSERTION_CHARS || !COMPACT_JWS.test(assertion)) {
    reject("malformed", "not a compact JWS");
  }
  let header: ReturnType<typeof decodeProtectedHeader>;
  let payload: JWTPayload;
  try {
    header = decodeProtectedHeader(assertion);
    payload = decodeJwt(assertion);
  } catch {
    return reject("malformed", "the header or payload is not base64url JSON");
  }
  if (header.alg !== ASSERTION_ALG) reject("unsupported_alg", `alg must be ${ASSERTION_ALG}`);
  if (header.typ !== ASSERTION_TYPE) reject("wrong_type", `typ must be ${ASSERTION_TYPE}`);
  if (typeof header.kid !== "string" || !KID.test(header.kid)) reject("malformed", "kid is missing or malformed");
  const { iss, sub, aud, iat, exp, jti } = payload;
  if (typeof iss !== "string" || !DOMAIN.test(iss)) reject("malformed", "iss must be a lower-case domain name");
  if (typeof sub !== "string" || !SUBJECT.test(sub)) reject("bad_subject", "sub must be 1-64 characters of a-z 0-9 . _ -");
  if (typeof aud !== "string" || aud !== audience) reject("wrong_audience", "aud is not this registrar");
  if (typeof jti !== "string" || !JTI.test(jti)) reject("malformed", "jti must be 1-128 printable ASCII characters");
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) reject("malformed", "iat and exp must be integers (seconds)");
  const c = { iss, sub, aud, iat, exp, jti } as Claims;
  if (c.exp - c.iat > MAX_ASSERTION_LIFETIME_S) reject("lifetime_too_long", `exp - iat is over ${MAX_ASSERTION_LIFETIME_S} s`);
  if (c.exp <= nowS) reject("expired", "the assertion has expired");
  if (c.iat > nowS + ASSERTION_CLOCK_SKEW_S) reject("issued_in_future", "iat is in the future");
  return { kid: header.kid as string, claims: c };
}

/**
 * Verifies an assertion: shape, alg, typ, audience, lifetime, then the signature with the issuer's key `kid`, which
 * must still be valid (`valid_until` in the future). Single use of `jti` is the caller's ledger's job (the registrar
 * keeps one in MySQL). Throws InvalidAssertionError.
 */
export async function verifyIdentityAssertion(assertion: string, opts: VerifyAssertionOptions): Promise<VerifiedIdentity> {
  const nowMs = opts.nowMs ?? Date.now();
  const { kid, claims } = inspect(assertion, opts.audience, Math.floor(nowMs / 1000));
  const keys = typeof opts.keys === "function" ? await opts.keys(claims.iss) : opts.keys;
  if (!keys) reject("unknown_issuer", "the issuer is not a verified domain");
  const key = keys.find((k) => k.kid === kid);
  if (!key) reject("unknown_kid", "the issuer has no key with this kid");
  if (!(Date.parse(key.valid_until) > nowMs)) reject("key_expired", "the key is past its valid_until");
  let publicKey: Awaited<ReturnType<typeof importJWK>>;
  try {
    publicKey = await importJWK({ kty: "OKP", crv: "Ed25519", x: key.public_key }, ASSERTION_ALG);
  } catch {
    return reject("unknown_kid", "the issuer's key cannot be used");
  }
  try {
    await jwtVerify(assertion, publicKey, {
      algorithms: [ASSERTION_ALG],
      typ: ASSERTION_TYPE,
      issuer: claims.iss,
      audience: opts.audience,
      currentDate: new Date(nowMs),
      requiredClaims: ["iss", "sub", "aud", "iat", "exp", "jti"],
    });
  } catch (err) {
    if (err instanceof errors.JWSSignatureVerificationFailed) reject("bad_signature", "the signature does not match");
    if (err instanceof errors.JWTExpired) reject("expired", "the assertion has expired");
    if (err instanceof errors.JOSEError) reject("malformed", "the assertion does not verify");
    throw err;
  }
  return { identity: `${claims.sub}@${claims.iss}`, iss: claims.iss, sub: claims.sub, exp: claims.exp, iat: claims.iat, jti: claims.jti, kid };
}

export type CreateAssertionOptions = {
  /** The user's home domain (`iss`) and user id (`sub`). */
  iss: string;
  sub: string;
  /** The registrar id that will check it (`aud`). */
  audience: string;
  kid: string;
  /** Ed25519 private key: a CryptoKey, a private JWK, or a PKCS#8 PEM string. */
  privateKey: CryptoKey | Parameters<SignJWT["sign"]>[0] | string;
  /** Default 300 s; at most 600 (§8.3). */
  lifetimeS?: number;
  /** Default: 16 random bytes, base64url. */
  jti?: string;
  nowMs?: number;
};

function randomJti(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Signs an identity assertion for `sub@iss`, for a Zent server to hand its user (or to use itself). */
export async function createIdentityAssertion(o: CreateAssertionOptions): Promise<string> {
  const lifetimeS = o.lifetimeS ?? 300;
  if (!(lifetimeS > 0 && lifetimeS <= MAX_ASSERTION_LIFETIME_S)) throw new RangeError(`lifetimeS must be 1-${MAX_ASSERTION_LIFETIME_S}`);
  if (!SUBJECT.test(o.sub)) throw new RangeError("sub must be 1-64 characters of a-z 0-9 . _ -");
  const key = typeof o.privateKey === "string" ? await importPKCS8(o.privateKey, ASSERTION_ALG) : o.privateKey;
  const iat = Math.floor((o.nowMs ?? Date.now()) / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: ASSERTION_ALG, kid: o.kid, typ: ASSERTION_TYPE })
    .setIssuer(o.iss)
    .setSubject(o.sub)
    .setAudience(o.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.floor(lifetimeS))
    .setJti(o.jti ?? randomJti())
    .sign(key);
}
