// Review L5: a config error names the variable and the problem, never a secret's value; and the new §10 settings.
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { redactUrl } from "../../src/store/mysql-url.js";

function refusal(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("accepted");
}

describe("config errors", () => {
  it("never echo a WEBHOOK_SECRET_KEY, not even a near miss of 62 hex characters", () => {
    const key = "0123456789abcdef".repeat(4).slice(0, 62);
    const message = refusal({ WEBHOOK_SECRET_KEY: key });
    expect(message).toMatch(/^invalid WEBHOOK_SECRET_KEY \(value hidden\)/);
    expect(message).not.toContain(key.slice(0, 16));
  });

  it("hide any variable named like a secret", () => {
    expect(refusal({ ADMIN_TOKEN: "nothex-s3cret" })).not.toContain("s3cret");
  });

  it("hide a DATABASE_URL password even when it holds characters that end a URL's user part", () => {
    for (const password of ["pa/ss3cret", "pa?ss3cret", "pa#ss3cret", "p@ss3cret"]) {
      const message = refusal({ DATABASE_URL: `mysql://app:${password}@db.internal/bad-name!` });
      expect(message).toMatch(/^invalid DATABASE_URL="mysql:\/\/app:\*\*\*@/);
      expect(message).not.toContain("ss3cret");
    }
  });

  it("hide a NATS token in the user part, and keep what is not a secret", () => {
    expect(redactUrl("nats://s3cr3tt0ken@nats.internal:4222")).toBe("nats://***@nats.internal:4222");
    expect(redactUrl("nats://user:pw@nats:4222")).toBe("nats://user:***@nats:4222");
    expect(redactUrl("mysql://root@h/db")).toBe("mysql://root@h/db");
    expect(redactUrl("30/60")).toBe("30/60");
  });
});

describe("§10 settings", () => {
  it("default RATE_LIMIT_WRITE to 60/60 and RATE_LIMIT_HEARTBEAT to 120/60, and take off", () => {
    expect(loadConfig({}).rateLimits).toMatchObject({ write: { limit: 60, windowS: 60 }, heartbeat: { limit: 120, windowS: 60 } });
    expect(loadConfig({ RATE_LIMIT_WRITE: "off", RATE_LIMIT_HEARTBEAT: "5/1" }).rateLimits).toMatchObject({ write: null, heartbeat: { limit: 5, windowS: 1 } });
    expect(refusal({ RATE_LIMIT_HEARTBEAT: "lots" })).toMatch(/^invalid RATE_LIMIT_HEARTBEAT="lots"/);
  });

  it("reads CLIENT_IP_HEADER in lower case, unset by default", () => {
    expect(loadConfig({}).clientIpHeader).toBeUndefined();
    expect(loadConfig({ CLIENT_IP_HEADER: "CF-Connecting-IP" }).clientIpHeader).toBe("cf-connecting-ip");
    expect(refusal({ CLIENT_IP_HEADER: "x real ip" })).toMatch(/^invalid CLIENT_IP_HEADER/);
  });
});
