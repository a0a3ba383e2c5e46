// Wire types of the trust routes and documents (contract §8), as a client sees them. No runtime code.

/** One Ed25519 signing key of a server, as its `.well-known/zent` document and the key directory list it. */
export type IdentityKey = {
  kid: string;
  alg: "Ed25519";
  /** base64url (no padding) of the 32-byte raw public key. */
  public_key: string;
  /** ISO time; the key signs nothing accepted after it. */
  valid_until: string;
};

/** `https://<domain>/.well-known/zent` (§8.1). */
export type ZentDocument = {
  domain: string;
  /** registrar id → the challenge that registrar issued. */
  registrars: Record<string, string>;
  keys: IdentityKey[];
};

/** `GET /v1/servers/:domain/keys` (§8.3). */
export type DomainKeys = { domain: string; verified_at: string; fetched_at: string; keys: IdentityKey[] };

/** `GET /.well-known/zent-registrar` (§8.3). */
export type RegistrarKeys = { registrar: string; keys: { kid: string; alg: "Ed25519"; public_key: string }[] };

/** `POST /v1/servers/:domain/verification` and `…/recovery` (§8.1, §8.2). */
export type Challenge = { challenge: string; registrar?: string; document_url: string; expires_at: string };

/** `POST /v1/identity/verify` (§8.3). */
export type IdentityReply = { identity: string; iss: string; sub: string; exp: number };
