// The registrar's own Ed25519 signing key (contract §8.3): loaded from REGISTRAR_SIGNING_KEY_FILE or generated once
// and shared through MySQL; signs response bodies (`Zent-Signature`) and publishes `/.well-known/zent-registrar`.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { calculateJwkThumbprint } from "jose";
import type { SecretBox } from "../webhooks/secrets.js";
import type { RegistrarKeysRepo } from "./registrar-keys-repo.js";

export class SigningKeyError extends Error {}

type PublishedKey = { kid: string; alg: "Ed25519"; public_key: string };

/** The base64url raw public key of an Ed25519 key object. */
function rawPublicKey(key: KeyObject): string {
  const jwk = createPublicKey(key).export({ format: "jwk" });
  return jwk.x as string;
}

/** kid = RFC 7638 thumbprint of the public key: the same key gets the same kid on every node, file or database. */
async function kidOf(publicKey: string): Promise<string> {
  return calculateJwkThumbprint({ kty: "OKP", crv: "Ed25519", x: publicKey }, "sha256");
}

function parsePrivateKey(pem: string, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch (err) {
    // The file's content is a secret: name the file, never quote it.
    throw new SigningKeyError(`${source} is not a PEM private key`, { cause: err });
  }
  if (key.asymmetricKeyType !== "ed25519") throw new SigningKeyError(`${source} is not an Ed25519 key`);
  return key;
}

export class RegistrarSigner {
  private readonly body: Buffer;

  private constructor(
    readonly registrarId: string,
    readonly kid: string,
    private readonly privateKey: KeyObject,
    published: PublishedKey[],
  ) {
    this.body = Buffer.from(JSON.stringify({ registrar: registrarId, keys: published }));
  }

  /**
   * With `keyFile` (PKCS#8 PEM), that key; else the active key in MySQL, inserted by the first node that finds
   * none (race-safe: see RegistrarKeysRepo.insertIfNoneActive).
   */
  static async load(o: { registrarId: string; keyFile?: string; repo: RegistrarKeysRepo; box: SecretBox; nowMs?: number }): Promise<RegistrarSigner> {
    if (o.keyFile) {
      let pem: string;
      try {
        pem = await readFile(o.keyFile, "utf8");
      } catch (err) {
        throw new SigningKeyError(`REGISTRAR_SIGNING_KEY_FILE cannot be read (${(err as { code?: string }).code ?? "error"})`, { cause: err });
      }
      const key = parsePrivateKey(pem, "REGISTRAR_SIGNING_KEY_FILE");
      const publicKey = rawPublicKey(key);
      const kid = await kidOf(publicKey);
      return new RegistrarSigner(o.registrarId, kid, key, [{ kid, alg: "Ed25519", public_key: publicKey }]);
    }
    let stored = await o.repo.active();
    if (!stored) {
      const { privateKey } = generateKeyPairSync("ed25519");
      const publicKey = rawPublicKey(privateKey);
      const pem = privateKey.export({ format: "pem", type: "pkcs8" }) as string;
      await o.repo.insertIfNoneActive({ kid: await kidOf(publicKey), publicKey, sealedPrivateKey: o.box.seal(pem) });
      stored = await o.repo.active();
      if (!stored) throw new SigningKeyError("no active registrar signing key after inserting one");
    }
    let pem: string;
    try {
      pem = o.box.open(stored.sealedPrivateKey);
    } catch (err) {
      throw new SigningKeyError("the stored registrar signing key cannot be opened (is WEBHOOK_SECRET_KEY the one it was sealed with?)", { cause: err });
    }
    const key = parsePrivateKey(pem, "the stored registrar signing key");
    const published = (await o.repo.published(o.nowMs ?? Date.now())).map((k) => ({ kid: k.kid, alg: "Ed25519" as const, public_key: k.publicKey }));
    return new RegistrarSigner(o.registrarId, stored.kid, key, published);
  }

  /** The `Zent-Signature` header value for these exact body bytes. */
  signatureHeader(body: Buffer | string): string {
    const bytes = typeof body === "string" ? Buffer.from(body) : body;
    return `${this.registrarId};${this.kid};${sign(null, bytes, this.privateKey).toString("base64url")}`;
  }

  /** The body of `GET /.well-known/zent-registrar`, serialised once. */
  wellKnownBody(): Buffer {
    return this.body;
  }
}
