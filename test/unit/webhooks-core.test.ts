// Unit tests for the webhook building blocks: SSRF address classes, signatures, sealed secrets, retry schedule.
import { describe, expect, it } from "vitest";
import { nextAttemptDelayMs, retryDelayMs } from "../../src/webhooks/backoff.js";
import { SecretBox } from "../../src/webhooks/secrets.js";
import { signatureHeader, verifySignature } from "../../src/webhooks/signature.js";
import { blockedReason, resolveTarget, TargetRefusedError } from "../../src/webhooks/ssrf.js";

describe("blockedReason", () => {
  it.each([
    "127.0.0.1", "127.255.255.254", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.0.1", "169.254.169.254",
    "100.64.0.1", "100.127.255.255", "0.0.0.0", "224.0.0.1", "239.255.255.250", "255.255.255.255", "198.18.0.1",
    "192.0.2.1", "::", "::1", "fc00::1", "fd12:3456::1", "fe80::1", "febf::1", "ff02::1", "::ffff:127.0.0.1",
    "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1", "64:ff9b::a00:1", "64:ff9b::7f00:1", "2002:a00:1::1",
    "2001:db8::1", "[::1]",
  ])("refuses %s", (ip) => {
    expect(blockedReason(ip)).toMatch(/private, loopback, link-local or reserved/);
  });

  it.each(["93.184.215.14", "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "169.255.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"])(
    "allows public %s",
    (ip) => {
      expect(blockedReason(ip)).toBeNull();
    },
  );
});

describe("resolveTarget", () => {
  const fake = (answers: Record<string, string[]>) => async (host: string) => {
    const a = answers[host];
    if (!a) throw Object.assign(new Error("not found"), { code: "ENOTFOUND" });
    return a.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }));
  };

  it("refuses a name when any of its addresses is private, not only the first", async () => {
    const lookup = fake({ "mixed.example": ["93.184.215.14", "10.1.2.3"] });
    await expect(resolveTarget("mixed.example", { allowPrivate: false, lookup })).rejects.toThrow(/mixed\.example resolves to 10\.1\.2\.3/);
  });

  it("returns every address of a public name, to pin the connection to", async () => {
    const lookup = fake({ "ok.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"] });
    expect(await resolveTarget("ok.example", { allowPrivate: false, lookup })).toEqual([
      { address: "93.184.215.14", family: 4 },
      { address: "2606:2800:21f:cb07:6820:80da:af6b:8b2c", family: 6 },
    ]);
  });

  it("takes IP literals, bracketed IPv6 included, without a lookup", async () => {
    const lookup = async () => {
      throw new Error("must not be called");
    };
    await expect(resolveTarget("[::1]", { allowPrivate: false, lookup })).rejects.toBeInstanceOf(TargetRefusedError);
    expect(await resolveTarget("[::1]", { allowPrivate: true, lookup })).toEqual([{ address: "::1", family: 6 }]);
  });

  it("refuses a name that does not resolve, naming the error", async () => {
    await expect(resolveTarget("gone.example", { allowPrivate: true, lookup: fake({}) })).rejects.toThrow(/does not resolve \(ENOTFOUND\)/);
  });

  it("allows private addresses with ALLOW_PRIVATE_WEBHOOKS", async () => {
    const lookup = fake({ "intranet.example": ["10.0.0.5"] });
    expect(await resolveTarget("intranet.example", { allowPrivate: true, lookup })).toEqual([{ address: "10.0.0.5", family: 4 }]);
  });
});

describe("webhook signatures", () => {
  const secret = "a".repeat(64);
  const body = '{"seq":1,"type":"server.updated"}';

  it("signs t.body with HMAC-SHA256 of the secret, as the header documents", async () => {
    const { createHmac } = await import("node:crypto");
    const expected = createHmac("sha256", secret).update(`1700000000.${body}`).digest("hex");
    expect(signatureHeader(secret, body, 1_700_000_000)).toBe(`t=1700000000,v1=${expected}`);
  });

  it("verifies its own signatures and refuses a changed body, another secret, or a stale timestamp", () => {
    const header = signatureHeader(secret, body, 1_700_000_000);
    expect(verifySignature(header, body, secret, { nowS: 1_700_000_100 })).toBe(true);
    expect(verifySignature(header, body + " ", secret, { nowS: 1_700_000_100 })).toBe(false);
    expect(verifySignature(header, body, "b".repeat(64), { nowS: 1_700_000_100 })).toBe(false);
    expect(verifySignature(header, body, secret, { nowS: 1_700_000_301 })).toBe(false);
    expect(verifySignature(header.replace("t=1700000000", "t=1700000001"), body, secret, { nowS: 1_700_000_000 })).toBe(false);
    expect(verifySignature(undefined, body, secret)).toBe(false);
    expect(verifySignature("v1=abc", body, secret)).toBe(false);
  });
});

describe("SecretBox", () => {
  const key = "0123456789abcdef".repeat(4);

  it("stores secrets in clear without a key and sealed with one, and opens both with the key", () => {
    const secret = SecretBox.generate();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    const clear = new SecretBox(undefined).seal(secret);
    expect(clear).toBe(`plain:${secret}`);
    const sealed = new SecretBox(key).seal(secret);
    expect(sealed).toMatch(/^aesgcm:/);
    expect(sealed).not.toContain(secret);
    expect(new SecretBox(key).open(sealed)).toBe(secret);
    expect(new SecretBox(key).open(clear)).toBe(secret);
  });

  it("binds a sealed secret to its webhook id: it does not open under another id (review L3)", () => {
    const box = new SecretBox(key);
    const sealed = box.seal("s3cret", "wh_aaaaaaaaaaaaaaaaaaaaaaaa");
    expect(sealed).toMatch(/^aesgcm2:/);
    expect(box.open(sealed, "wh_aaaaaaaaaaaaaaaaaaaaaaaa")).toBe("s3cret");
    expect(() => box.open(sealed, "wh_bbbbbbbbbbbbbbbbbbbbbbbb")).toThrow(/cannot be decrypted/);
    expect(() => box.open(sealed)).toThrow(/cannot be decrypted/);
    // Values sealed before the binding existed still open.
    expect(box.open(box.seal("old"), "wh_aaaaaaaaaaaaaaaaaaaaaaaa")).toBe("old");
  });

  it("refuses to open a sealed secret without the key or with another key", () => {
    const sealed = new SecretBox(key).seal("s3cret");
    expect(() => new SecretBox(undefined).open(sealed)).toThrow(/WEBHOOK_SECRET_KEY is not set/);
    expect(() => new SecretBox("f".repeat(64)).open(sealed)).toThrow(/cannot be decrypted/);
    expect(() => new SecretBox("xyz")).toThrow(/64 hex/);
  });
});

describe("retry schedule", () => {
  const policy = { baseMs: 1000, maxMs: 60_000, giveUpAfterMs: 86_400_000 };

  it("doubles the jitter window per failure up to the cap", () => {
    const top = (n: number) => retryDelayMs(n, policy, () => 0.999999);
    expect([1, 2, 3, 4].map(top)).toEqual([999, 1999, 3999, 7999]);
    expect(top(7)).toBe(59_999);
    expect(top(1000)).toBe(59_999);
    expect(retryDelayMs(5, policy, () => 0)).toBe(0);
  });

  it("spreads delays over the whole window (full jitter)", () => {
    const delays = Array.from({ length: 2000 }, () => retryDelayMs(3, policy));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(4000);
    expect(delays.filter((d) => d < 2000).length).toBeGreaterThan(700);
    expect(delays.filter((d) => d >= 2000).length).toBeGreaterThan(700);
  });

  it("gives up when the next attempt would fall after the 24 h horizon", () => {
    expect(nextAttemptDelayMs(3, 1000, policy, () => 0.5)).toBe(2000);
    expect(nextAttemptDelayMs(30, 86_400_000 - 10_000, policy, () => 0.5)).toBeNull();
    expect(nextAttemptDelayMs(30, 86_400_000 - 40_000, policy, () => 0.5)).toBe(30_000);
  });
});
