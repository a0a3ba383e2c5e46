// Webhook signing secrets: generation, and sealing for storage (AES-256-GCM with WEBHOOK_SECRET_KEY, else clear).
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/**
 * Unlike a server token, a webhook secret cannot be stored as a hash: the registrar must compute an HMAC with the
 * secret itself on every delivery. So it is stored either sealed with a key that lives only in the configuration
 * (WEBHOOK_SECRET_KEY: a database dump alone then reveals no secret) or, when no key is configured, in clear
 * (`plain:`), which is no worse than the database access a thief would need to read it. Both forms can coexist,
 * so setting a key later keeps old webhooks working; new ones are sealed from then on.
 */
export class SecretBox {
  private readonly key: Buffer | null;

  /** `keyHex`: 64 hex chars (32 bytes) or undefined for clear storage. */
  constructor(keyHex: string | undefined) {
    if (keyHex !== undefined && !/^[0-9a-fA-F]{64}$/.test(keyHex)) throw new Error("WEBHOOK_SECRET_KEY must be 64 hex characters (32 bytes)");
    this.key = keyHex ? Buffer.from(keyHex, "hex") : null;
  }

  /** A fresh secret: 32 random bytes as 64 lower-case hex characters, handed to the client once. */
  static generate(): string {
    return randomBytes(32).toString("hex");
  }

  /**
   * Sealed under the key, bound to `boundTo` (the webhook id) when given: a sealed secret copied onto another
   * webhook's row does not open there (review L3). Unbound `aesgcm:` values of earlier versions still open.
   */
  seal(secret: string, boundTo?: string): string {
    if (!this.key) return `plain:${secret}`;
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    if (boundTo !== undefined) cipher.setAAD(Buffer.from(boundTo, "utf8"));
    const ct = Buffer.concat([cipher.update(secret, "utf8"), cipher.final()]);
    return `${boundTo !== undefined ? "aesgcm2" : "aesgcm"}:${iv.toString("hex")}:${cipher.getAuthTag().toString("hex")}:${ct.toString("hex")}`;
  }

  /** The secret, or throws when it is sealed and this node has no (or another) key. */
  open(stored: string, boundTo?: string): string {
    if (stored.startsWith("plain:")) return stored.slice(6);
    const m = /^(aesgcm2?):([0-9a-f]{24}):([0-9a-f]{32}):([0-9a-f]+)$/.exec(stored);
    if (!m) throw new Error("stored webhook secret has an unknown format");
    if (!this.key) throw new Error("webhook secret is encrypted but WEBHOOK_SECRET_KEY is not set");
    const decipher = createDecipheriv("aes-256-gcm", this.key, Buffer.from(m[2], "hex"));
    decipher.setAuthTag(Buffer.from(m[3], "hex"));
    if (m[1] === "aesgcm2") decipher.setAAD(Buffer.from(boundTo ?? "", "utf8"));
    try {
      return Buffer.concat([decipher.update(Buffer.from(m[4], "hex")), decipher.final()]).toString("utf8");
    } catch (err) {
      throw new Error("webhook secret cannot be decrypted with WEBHOOK_SECRET_KEY (was the key changed, or the row copied?)", { cause: err });
    }
  }
}
