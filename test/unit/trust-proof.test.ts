// The proof rule of contract §8.1 (document schema, domain, challenge) and challenge generation/comparison.
import { describe, expect, it } from "vitest";
import { challengesMatch, generateChallenge, isChallenge } from "../../src/trust/challenge.js";
import { attemptProof, failureDetail } from "../../src/trust/proof.js";
import { checkProof, MAX_DOCUMENT_KEYS } from "../../src/trust/zent-document.js";

const CHALLENGE = generateChallenge();
const KEY = { kid: "k1", alg: "Ed25519", public_key: "JK1PzajS1dHCMwg03XSFZOVXkL8EZdcLdvUV-KMDx4k", valid_until: "2030-01-01T00:00:00+02:00" };
const expectFor = { domain: "chat.example.com", registrarId: "reg.example.org", challenge: CHALLENGE };
const doc = (over: Record<string, unknown> = {}) => ({ domain: "chat.example.com", registrars: { "reg.example.org": CHALLENGE, "other.org": "x" }, keys: [KEY], ...over });

describe("challenges", () => {
  it("are 32 random bytes in base64url, different every time", () => {
    const seen = new Set(Array.from({ length: 1000 }, generateChallenge));
    expect(seen.size).toBe(1000);
    for (const c of seen) {
      expect(c).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(c, "base64url")).toHaveLength(32);
      expect(isChallenge(c)).toBe(true);
    }
  });

  it("match only when equal", () => {
    expect(challengesMatch(CHALLENGE, CHALLENGE)).toBe(true);
    expect(challengesMatch(CHALLENGE.slice(0, -1), CHALLENGE)).toBe(false);
    expect(challengesMatch(`${CHALLENGE} `, CHALLENGE)).toBe(false);
    expect(challengesMatch("", CHALLENGE)).toBe(false);
    expect(isChallenge("short")).toBe(false);
    expect(isChallenge(`${CHALLENGE}=`)).toBe(false);
  });
});

describe("checkProof", () => {
  it("accepts the document and returns its keys with valid_until in UTC", () => {
    expect(checkProof(doc(), expectFor)).toEqual({ ok: true, keys: [{ ...KEY, valid_until: "2029-12-31T22:00:00.000Z" }] });
    // Unknown top-level fields are tolerated; keys may be absent.
    expect(checkProof({ domain: "chat.example.com", registrars: { "reg.example.org": CHALLENGE }, contact: "x" }, expectFor)).toEqual({ ok: true, keys: [] });
    // The domain is compared in canonical form.
    expect(checkProof(doc({ domain: "Chat.Example.COM" }), expectFor).ok).toBe(true);
  });

  it("refuses another domain's document", () => {
    expect(checkProof(doc({ domain: "evil.example.com" }), expectFor)).toMatchObject({ ok: false, reason: "wrong_domain" });
    expect(checkProof(doc({ domain: "sub.chat.example.com" }), expectFor)).toMatchObject({ ok: false, reason: "wrong_domain" });
  });

  it("refuses a document without this registrar's challenge, or with another one", () => {
    expect(checkProof(doc({ registrars: {} }), expectFor)).toMatchObject({ ok: false, reason: "challenge_missing" });
    expect(checkProof(doc({ registrars: { "reg.example.org": generateChallenge() } }), expectFor)).toMatchObject({ ok: false, reason: "challenge_missing" });
    // The challenge under another registrar's id does not count.
    expect(checkProof(doc({ registrars: { "other.org": CHALLENGE } }), expectFor)).toMatchObject({ ok: false, reason: "challenge_missing" });
    const missing = checkProof({ domain: "chat.example.com" }, expectFor);
    expect(missing).toMatchObject({ ok: false, reason: "challenge_missing" });
  });

  it("is not fooled by inherited properties", () => {
    const proto = { domain: "chat.example.com", registrars: JSON.parse(`{"__proto__": {"reg.example.org": "${CHALLENGE}"}}`) };
    expect(checkProof(proto, { ...expectFor })).toMatchObject({ ok: false });
    expect(checkProof(doc(), { ...expectFor, registrarId: "constructor" })).toMatchObject({ ok: false, reason: "challenge_missing" });
  });

  it.each([
    ["not an object", "hello"],
    ["an array", []],
    ["a domain that is not a string", { domain: 5, registrars: {} }],
    ["a key with another alg", doc({ keys: [{ ...KEY, alg: "RS256" }] })],
    ["a key of 31 bytes", doc({ keys: [{ ...KEY, public_key: KEY.public_key.slice(0, 42) }] })],
    ["a key with non-zero padding bits", doc({ keys: [{ ...KEY, public_key: `${KEY.public_key.slice(0, 42)}l` }] })],
    ["a key without valid_until", doc({ keys: [{ kid: "k1", alg: "Ed25519", public_key: KEY.public_key }] })],
    ["a key with unknown fields", doc({ keys: [{ ...KEY, d: "secret" }] })],
    ["duplicate kids", doc({ keys: [KEY, KEY] })],
    ["too many keys", doc({ keys: Array.from({ length: MAX_DOCUMENT_KEYS + 1 }, (_, i) => ({ ...KEY, kid: `k${i}` })) })],
    ["a registrars value that is not a string", doc({ registrars: { "reg.example.org": 5 } })],
  ])("reports %s as invalid_document", (_name, json) => {
    expect(checkProof(json, expectFor)).toMatchObject({ ok: false, reason: "invalid_document" });
  });
});

describe("attemptProof", () => {
  it("passes a fetch failure through and checks a fetched document", async () => {
    const url = "https://chat.example.com/.well-known/zent";
    const down = { fetch: async () => ({ ok: false as const, url, reason: "timeout" as const, message: "no complete answer within 5 s" }) };
    const failed = await attemptProof(down, expectFor);
    expect(failed).toEqual({ ok: false, documentUrl: url, reason: "timeout", message: "no complete answer within 5 s" });
    expect(failureDetail(failed as Extract<typeof failed, { ok: false }>)).toEqual({ path: url, reason: "timeout", message: "no complete answer within 5 s" });
    const up = { fetch: async () => ({ ok: true as const, url, json: doc(), bytes: 10 }) };
    expect(await attemptProof(up, expectFor, () => 1234)).toMatchObject({ ok: true, documentUrl: url, fetchedAtMs: 1234, keys: [{ kid: "k1" }] });
    const wrong = { fetch: async () => ({ ok: true as const, url, json: doc({ domain: "x.example.com" }), bytes: 10 }) };
    expect(await attemptProof(wrong, expectFor)).toMatchObject({ ok: false, reason: "wrong_domain" });
  });
});
