// SDK helpers for Zent servers (contract §8.1, §8.3): the document they build passes the registrar's proof check.
import { describe, expect, it } from "vitest";
import { buildZentDocument, generateIdentityKey, publicKeyOf } from "../../client/zent-document.js";
import { generateChallenge } from "../../src/trust/challenge.js";
import { checkProof } from "../../src/trust/zent-document.js";

describe("buildZentDocument", () => {
  it("builds a document the registrar accepts, from CryptoKeys or raw keys", async () => {
    const a = await generateIdentityKey();
    const b = await generateIdentityKey();
    const challenge = generateChallenge();
    const doc = await buildZentDocument({
      domain: "Chat.Example.com",
      registrars: { "reg.example.org": challenge },
      keys: [
        { kid: "a", publicKey: a.privateKey, validUntil: new Date("2027-01-01T00:00:00Z") },
        { kid: "b", publicKey: b.publicKey, validUntil: "2027-06-01T00:00:00+01:00" },
      ],
    });
    expect(doc).toEqual({
      domain: "chat.example.com",
      registrars: { "reg.example.org": challenge },
      keys: [
        { kid: "a", alg: "Ed25519", public_key: a.publicKey, valid_until: "2027-01-01T00:00:00.000Z" },
        { kid: "b", alg: "Ed25519", public_key: b.publicKey, valid_until: "2027-05-31T23:00:00.000Z" },
      ],
    });
    // Through JSON, as it is served.
    const proof = checkProof(JSON.parse(JSON.stringify(doc)), { domain: "chat.example.com", registrarId: "reg.example.org", challenge });
    expect(proof).toEqual({ ok: true, keys: doc.keys });
    expect(await publicKeyOf(a.privateKey)).toBe(a.publicKey);
  });

  it("refuses bad kids, keys and dates", async () => {
    const k = await generateIdentityKey();
    const base = { domain: "chat.example.com", registrars: {} };
    await expect(buildZentDocument({ ...base, keys: [{ kid: "bad kid", publicKey: k.publicKey, validUntil: "2027-01-01" }] })).rejects.toThrow(RangeError);
    await expect(buildZentDocument({ ...base, keys: [{ kid: "a", publicKey: "short", validUntil: "2027-01-01" }] })).rejects.toThrow(RangeError);
    await expect(buildZentDocument({ ...base, keys: [{ kid: "a", publicKey: k.publicKey, validUntil: "someday" }] })).rejects.toThrow(RangeError);
    const twice = { kid: "a", publicKey: k.publicKey, validUntil: "2027-01-01" };
    await expect(buildZentDocument({ ...base, keys: [twice, twice] })).rejects.toThrow(/distinct/);
  });
});
