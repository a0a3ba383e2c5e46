// The registrar's signing key and `Zent-Signature` (contract §8.3): server signs, the SDK verifies; key sources.
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseZentSignature, verifyZentSignature } from "../../client/signature.js";
import type { RegistrarKeys } from "../../client/trust-types.js";
import type { RegistrarKeysRepo, StoredRegistrarKey } from "../../src/trust/registrar-keys-repo.js";
import { RegistrarSigner, SigningKeyError } from "../../src/trust/registrar-signer.js";
import { SecretBox } from "../../src/webhooks/secrets.js";

/** The repository's contract in memory: one active key, the first insert wins. */
class FakeKeysRepo {
  rows: (StoredRegistrarKey & { retiredAtMs?: number })[] = [];
  async active() {
    return this.rows.find((r) => r.active) ?? null;
  }
  async insertIfNoneActive(k: { kid: string; publicKey: string; sealedPrivateKey: string }) {
    if (!this.rows.some((r) => r.active)) this.rows.push({ ...k, active: true });
  }
  async published() {
    return this.rows.map((r) => ({ kid: r.kid, publicKey: r.publicKey }));
  }
}
const asRepo = (f: FakeKeysRepo) => f as unknown as RegistrarKeysRepo;

describe("RegistrarSigner and Zent-Signature", () => {
  let dir: string;
  let keyFile: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "zent-sign-"));
    keyFile = path.join(dir, "registrar.pem");
    await writeFile(keyFile, generateKeyPairSync("ed25519").privateKey.export({ format: "pem", type: "pkcs8" }));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const body = Buffer.from('{"domain":"chat.example.com","keys":[]}');

  it("signs with the key file; the SDK verifies the exact bytes with the published key", async () => {
    const signer = await RegistrarSigner.load({ registrarId: "reg.example.org", keyFile, repo: asRepo(new FakeKeysRepo()), box: new SecretBox(undefined) });
    const published = JSON.parse(signer.wellKnownBody().toString()) as RegistrarKeys;
    expect(published).toEqual({ registrar: "reg.example.org", keys: [{ kid: signer.kid, alg: "Ed25519", public_key: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) }] });
    const header = signer.signatureHeader(body);
    expect(header).toMatch(new RegExp(`^reg\\.example\\.org;${signer.kid.replace(/[-]/g, "\\-")};[A-Za-z0-9_-]{86}$`));
    expect(await verifyZentSignature(new Uint8Array(body), header, published)).toBe(true);
    expect(await verifyZentSignature(body.toString(), header, published)).toBe(true);
  });

  it("refuses a changed body, another registrar's name, an unknown kid and garbage headers", async () => {
    const signer = await RegistrarSigner.load({ registrarId: "reg.example.org", keyFile, repo: asRepo(new FakeKeysRepo()), box: new SecretBox(undefined) });
    const published = JSON.parse(signer.wellKnownBody().toString()) as RegistrarKeys;
    const header = signer.signatureHeader(body);
    expect(await verifyZentSignature(Buffer.from(`${body} `), header, published)).toBe(false);
    expect(await verifyZentSignature(body, header.replace("reg.example.org", "reg.evil.org"), published)).toBe(false);
    expect(await verifyZentSignature(body, header, { ...published, registrar: "reg.evil.org" })).toBe(false);
    expect(await verifyZentSignature(body, header.replace(signer.kid, "other"), published)).toBe(false);
    for (const bad of [null, "", "reg;kid", `reg.example.org;${signer.kid};short`, `${header};extra`]) {
      expect(await verifyZentSignature(body, bad, published)).toBe(false);
    }
    expect(parseZentSignature(header)).toMatchObject({ registrar: "reg.example.org", kid: signer.kid });
  });

  it("generates one key in the store, sealed, and every later load uses the same", async () => {
    const repo = new FakeKeysRepo();
    const box = new SecretBox("ab".repeat(32));
    const a = await RegistrarSigner.load({ registrarId: "reg.example.org", repo: asRepo(repo), box });
    const b = await RegistrarSigner.load({ registrarId: "reg.example.org", repo: asRepo(repo), box });
    expect(repo.rows).toHaveLength(1);
    expect(repo.rows[0].sealedPrivateKey).toMatch(/^aesgcm:/);
    expect(b.kid).toBe(a.kid);
    const published = JSON.parse(b.wellKnownBody().toString()) as RegistrarKeys;
    expect(await verifyZentSignature(body, a.signatureHeader(body), published)).toBe(true);
    // A node with another sealing key cannot open it, and says so without printing anything secret.
    await expect(RegistrarSigner.load({ registrarId: "reg.example.org", repo: asRepo(repo), box: new SecretBox("cd".repeat(32)) })).rejects.toBeInstanceOf(SigningKeyError);
  });

  it("refuses a key file that is missing, not PEM, or not Ed25519, without quoting it", async () => {
    const repo = asRepo(new FakeKeysRepo());
    const box = new SecretBox(undefined);
    await expect(RegistrarSigner.load({ registrarId: "r.org", keyFile: path.join(dir, "none.pem"), repo, box })).rejects.toThrow(/cannot be read \(ENOENT\)/);
    const junk = path.join(dir, "junk.pem");
    await writeFile(junk, "TOP-SECRET-NOT-PEM");
    await expect(RegistrarSigner.load({ registrarId: "r.org", keyFile: junk, repo, box })).rejects.toThrow(/^REGISTRAR_SIGNING_KEY_FILE is not a PEM private key$/);
    const ec = path.join(dir, "ec.pem");
    await writeFile(ec, generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "pkcs8" }));
    await expect(RegistrarSigner.load({ registrarId: "r.org", keyFile: ec, repo, box })).rejects.toThrow(/not an Ed25519 key/);
  });
});
