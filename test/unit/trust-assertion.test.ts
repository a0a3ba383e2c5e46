// Identity assertions (contract §8.3): created with the SDK, verified by the registrar's verifier; every refusal.
import { base64url, SignJWT, UnsecuredJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { createIdentityAssertion, verifyIdentityAssertion } from "../../client/identity.js";
import type { IdentityKey } from "../../client/trust-types.js";
import { generateIdentityKey, type GeneratedIdentityKey } from "../../client/zent-document.js";
import { AssertionRefusedError, AssertionVerifier } from "../../src/trust/assertion-verifier.js";
import { MemoryJtiLedger } from "../../src/trust/jti-ledger.js";

const AUD = "reg.example.org";
const ISS = "chat.example.com";
const NOW = Date.parse("2026-12-03T12:00:00.000Z");
const FUTURE = "2027-12-01T00:00:00.000Z";

describe("identity assertions", () => {
  let k1: GeneratedIdentityKey;
  let k2: GeneratedIdentityKey;
  let issuers: Map<string, IdentityKey[]>;
  let verifier: AssertionVerifier;
  beforeAll(async () => {
    k1 = await generateIdentityKey();
    k2 = await generateIdentityKey();
    issuers = new Map([
      [ISS, [
        { kid: "k1", alg: "Ed25519", public_key: k1.publicKey, valid_until: FUTURE },
        { kid: "old", alg: "Ed25519", public_key: k2.publicKey, valid_until: "2026-12-03T11:59:59.999Z" },
      ]],
    ]);
    verifier = new AssertionVerifier(AUD, { keysOf: async (iss) => issuers.get(iss) ?? null }, new MemoryJtiLedger(), () => NOW);
  });

  const make = (o: Partial<Parameters<typeof createIdentityAssertion>[0]> = {}) =>
    createIdentityAssertion({ iss: ISS, sub: "alice", audience: AUD, kid: "k1", privateKey: k1.privateKey, nowMs: NOW - 1000, ...o });

  /** Signs arbitrary header/claims with k1, for the cases the SDK refuses to produce. */
  const raw = (header: Record<string, unknown>, claims: Record<string, unknown>) =>
    new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", kid: "k1", typ: "zent-identity+jwt", ...header } as never).sign(k1.privateKey);
  const iat = Math.floor(NOW / 1000) - 1;
  const claims = (over: Record<string, unknown> = {}) => ({ iss: ISS, sub: "alice", aud: AUD, iat, exp: iat + 300, jti: `j-${Math.random()}`, ...over });

  const refusal = async (assertion: string | Promise<string>) => {
    try {
      await verifier.verify(await assertion);
    } catch (err) {
      if (err instanceof AssertionRefusedError) return err.reason;
      throw err;
    }
    return "accepted";
  };

  it("accepts a fresh assertion signed with a current key and returns the identity", async () => {
    const a = await make({ jti: "one" });
    expect(await verifier.verify(a)).toEqual({
      identity: "alice@chat.example.com", iss: ISS, sub: "alice", iat: iat, exp: iat + 300, jti: "one", kid: "k1",
    });
  });

  it("accepts a jti once", async () => {
    const a = await make();
    await verifier.verify(a);
    expect(await refusal(a)).toBe("replayed");
  });

  it("refuses an expired assertion", async () => {
    expect(await refusal(make({ nowMs: NOW - 400_000, lifetimeS: 300 }))).toBe("expired");
    expect(await refusal(raw({}, claims({ exp: Math.floor(NOW / 1000) })))).toBe("expired");
  });

  it("refuses exp - iat over 600 s, and accepts exactly 600", async () => {
    expect(await refusal(raw({}, claims({ exp: iat + 601 })))).toBe("lifetime_too_long");
    expect(await refusal(raw({}, claims({ exp: iat + 600 })))).toBe("accepted");
  });

  it("refuses another audience, an audience list, or none", async () => {
    expect(await refusal(make({ audience: "other.example.org" }))).toBe("wrong_audience");
    expect(await refusal(raw({}, claims({ aud: [AUD, "x"] })))).toBe("wrong_audience");
    expect(await refusal(raw({}, claims({ aud: undefined })))).toBe("wrong_audience");
  });

  it("refuses an unknown kid and a key past valid_until", async () => {
    expect(await refusal(make({ kid: "k9" }))).toBe("unknown_kid");
    expect(await refusal(make({ kid: "old", privateKey: k2.privateKey }))).toBe("key_expired");
  });

  it("refuses an issuer that is unknown or not verified", async () => {
    expect(await refusal(make({ iss: "other.example.com" }))).toBe("unknown_issuer");
  });

  it("refuses a signature by another key under a known kid", async () => {
    expect(await refusal(make({ privateKey: k2.privateKey }))).toBe("bad_signature");
  });

  it("refuses a tampered payload or header", async () => {
    const a = await make();
    const [h, p, s] = a.split(".");
    const payload = JSON.parse(new TextDecoder().decode(base64url.decode(p)));
    const forged = base64url.encode(JSON.stringify({ ...payload, sub: "mallory" }));
    expect(await refusal(`${h}.${forged}.${s}`)).toBe("bad_signature");
    const header = base64url.encode(JSON.stringify({ alg: "EdDSA", kid: "k1", typ: "zent-identity+jwt", x: 1 }));
    expect(await refusal(`${header}.${p}.${s}`)).toBe("bad_signature");
    // A flipped bit in the signature.
    const sig = base64url.decode(s);
    sig[0] ^= 1;
    expect(await refusal(`${h}.${p}.${base64url.encode(sig)}`)).toBe("bad_signature");
  });

  it("refuses alg none and other algorithms", async () => {
    const unsecured = new UnsecuredJWT(claims()).encode();
    expect(await refusal(unsecured)).toBe("malformed"); // empty signature part: not even a compact JWS
    const noneWithSig = `${base64url.encode(JSON.stringify({ alg: "none", kid: "k1", typ: "zent-identity+jwt" }))}.${unsecured.split(".")[1]}.AAAA`;
    expect(await refusal(noneWithSig)).toBe("unsupported_alg");
    // Algorithm confusion: an HMAC keyed with the public key bytes.
    const hs = await new SignJWT(claims()).setProtectedHeader({ alg: "HS256", kid: "k1", typ: "zent-identity+jwt" }).sign(new TextEncoder().encode(k1.publicKey));
    expect(await refusal(hs)).toBe("unsupported_alg");
  });

  it("refuses a wrong typ, a bad subject, a future iat and malformed input", async () => {
    expect(await refusal(raw({ typ: "JWT" }, claims()))).toBe("wrong_type");
    expect(await refusal(raw({}, claims({ sub: "Alice" })))).toBe("bad_subject");
    expect(await refusal(raw({}, claims({ sub: "a".repeat(65) })))).toBe("bad_subject");
    expect(await refusal(raw({}, claims({ iat: iat + 120, exp: iat + 300 })))).toBe("issued_in_future");
    expect(await refusal(raw({}, claims({ jti: undefined })))).toBe("malformed");
    expect(await refusal(raw({}, claims({ iss: "Chat.Example.com" })))).toBe("malformed");
    expect(await refusal(raw({ kid: undefined }, claims()))).toBe("malformed");
    expect(await refusal(raw({}, claims({ exp: "soon" })))).toBe("malformed");
    expect(await refusal("not.a.jws!")).toBe("malformed");
    expect(await refusal("a".repeat(5000))).toBe("malformed");
    expect(await refusal("e30.e30.AAAA")).toBe("unsupported_alg");
  });

  it("does not spend the jti of a refused assertion", async () => {
    const good = await make({ jti: "shared" });
    expect(await refusal(make({ jti: "shared", privateKey: k2.privateKey }))).toBe("bad_signature");
    expect(await refusal(good)).toBe("accepted");
  });

  it("verifies locally against a static key list (SDK use, no ledger)", async () => {
    const a = await make();
    const keys = issuers.get(ISS)!;
    await expect(verifyIdentityAssertion(a, { audience: AUD, keys, nowMs: NOW })).resolves.toMatchObject({ identity: "alice@chat.example.com" });
    await expect(verifyIdentityAssertion(a, { audience: AUD, keys: [], nowMs: NOW })).rejects.toMatchObject({ reason: "unknown_kid" });
  });

  it("creates assertions only with sane arguments, from a PEM key too", async () => {
    await expect(make({ lifetimeS: 601 })).rejects.toThrow(RangeError);
    await expect(make({ sub: "Bad User" })).rejects.toThrow(RangeError);
    const fromPem = await make({ privateKey: k1.privateKeyPem });
    expect(await refusal(fromPem)).toBe("accepted");
  });
});
