// Trust settings in config.ts (contract §8): defaults, WELL_KNOWN_URL needs ALLOW_INSECURE_URLS, secrets never echoed.
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("trust configuration", () => {
  it("has the contract's defaults", () => {
    const t = loadConfig({}).trust;
    expect(t).toMatchObject({
      wellKnownUrl: "https://{domain}/.well-known/zent",
      allowPrivateFetch: false,
      allowInsecureFetch: false,
      recheckIntervalMs: 86_400_000,
      graceMs: 259_200_000,
      signingKeyFile: undefined,
      adminToken: undefined,
      ratingsAnonymous: false,
      rateLimitRecovery: { limit: 5, windowS: 3600 },
      rateLimitRatePerHome: { limit: 100, windowS: 3600 },
      fedMaxRecordsPerOrigin: 200_000,
      fetchTimeoutMs: 5000,
      fetchMaxBytes: 65_536,
    });
  });

  it("takes another WELL_KNOWN_URL only with ALLOW_INSECURE_URLS=true", () => {
    const url = "http://127.0.0.1:8080/{domain}/.well-known/zent";
    expect(() => loadConfig({ WELL_KNOWN_URL: url })).toThrow(/WELL_KNOWN_URL=.*needs ALLOW_INSECURE_URLS=true/);
    expect(loadConfig({ WELL_KNOWN_URL: url, ALLOW_INSECURE_URLS: "true" }).trust).toMatchObject({ wellKnownUrl: url, allowInsecureFetch: true });
    expect(() => loadConfig({ WELL_KNOWN_URL: "http://127.0.0.1/zent", ALLOW_INSECURE_URLS: "true" })).toThrow(/must contain \{domain\}/);
    expect(() => loadConfig({ WELL_KNOWN_URL: "ftp://{domain}/zent", ALLOW_INSECURE_URLS: "true" })).toThrow(/http\(s\) URL template/);
    // The default stays https-only even when insecure URLs are allowed for records.
    expect(loadConfig({ ALLOW_INSECURE_URLS: "true" }).trust.allowInsecureFetch).toBe(false);
  });

  it("reads the numbers and switches", () => {
    const t = loadConfig({
      VERIFY_RECHECK_S: "0.5", VERIFY_GRACE_S: "0", ALLOW_PRIVATE_FETCH: "true", RATINGS_ANONYMOUS: "1",
      RATE_LIMIT_RECOVERY: "off", RATE_LIMIT_RATE_PER_HOME: "3/60", FED_MAX_RECORDS_PER_ORIGIN: "10", REGISTRAR_SIGNING_KEY_FILE: "/etc/zent/key.pem",
    }).trust;
    expect(t).toMatchObject({
      recheckIntervalMs: 500, graceMs: 0, allowPrivateFetch: true, ratingsAnonymous: true, rateLimitRecovery: null,
      rateLimitRatePerHome: { limit: 3, windowS: 60 }, fedMaxRecordsPerOrigin: 10, signingKeyFile: "/etc/zent/key.pem",
    });
    expect(() => loadConfig({ VERIFY_RECHECK_S: "0" })).toThrow(ConfigError);
    expect(() => loadConfig({ RATE_LIMIT_RATE_PER_HOME: "ten" })).toThrow(/RATE_LIMIT_RATE_PER_HOME/);
  });

  it("takes a 64-hex ADMIN_TOKEN and never prints a bad one", () => {
    const token = "AB".repeat(32);
    expect(loadConfig({ ADMIN_TOKEN: token }).trust.adminToken).toBe(token.toLowerCase());
    const secret = "hunter2-my-admin-password";
    let message = "";
    try {
      loadConfig({ ADMIN_TOKEN: secret });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^invalid ADMIN_TOKEN \(value hidden\): expected 64 hex characters/);
    expect(message).not.toContain(secret);
  });
});
