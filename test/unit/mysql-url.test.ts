// Issue 13: DATABASE_URL's TLS options are checked at start-up, each refusal one line naming DATABASE_URL and never
// showing the password; what they turn into for mysql2. The connections themselves: test/integration/mysql-tls.test.ts.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { checkTlsFiles, connectionOptions, parseDatabaseUrl, redactUrl, sslOptions } from "../../src/store/mysql-url.js";

let dir: string;
const file = (name: string) => path.join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "zt-mysql-url-"));
  const ssl = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  ssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=ca"]);
  ssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.pem", "-days", "1", "-subj", "/CN=client"]);
  ssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-aes256", "-pass", "pass:secret", "-out", "encrypted.key"]);
  writeFileSync(file("not-pem.txt"), "hello\n");
}, 30_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BASE = "mysql://zent:s3cr%40t@db.example.com:3307/zent_registrar";
const withQuery = (q: string) => `${BASE}?${q}`;

describe("parseDatabaseUrl", () => {
  it("reads user, decoded password, host, port and database; no options means no TLS", () => {
    expect(parseDatabaseUrl(BASE)).toEqual({
      host: "db.example.com", port: 3307, user: "zent", password: "s3cr@t", database: "zent_registrar", tls: null,
    });
    expect(parseDatabaseUrl("mysql://127.0.0.1")).toMatchObject({ port: 3306, user: "root", password: "", database: "zent_registrar" });
  });

  it("takes the mysql client's option names, ssl-mode in any case", () => {
    expect(parseDatabaseUrl(withQuery("ssl-mode=required")).tls).toEqual({ mode: "REQUIRED" });
    expect(parseDatabaseUrl(withQuery(`ssl-mode=VERIFY_CA&ssl-ca=${encodeURIComponent("/etc/ssl/my ca.pem")}`)).tls).toEqual({
      mode: "VERIFY_CA", caPath: "/etc/ssl/my ca.pem",
    });
    expect(parseDatabaseUrl(withQuery("ssl-mode=VERIFY_IDENTITY&ssl-ca=/a&ssl-cert=/b&ssl-key=/c")).tls).toEqual({
      mode: "VERIFY_IDENTITY", caPath: "/a", certPath: "/b", keyPath: "/c",
    });
    expect(parseDatabaseUrl(withQuery("ssl-mode=REQUIRED&ssl-cert=/b&ssl-key=/c")).tls).toEqual({ mode: "REQUIRED", certPath: "/b", keyPath: "/c" });
    expect(parseDatabaseUrl(withQuery("ssl-mode=DISABLED")).tls).toBeNull();
  });

  it.each([
    ["ssl-mode=PREFERRED", /PREFERRED is not supported/],
    ["ssl-mode=verify-full", /ssl-mode must be one of DISABLED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY/],
    ["sslmode=REQUIRED", /unknown option "sslmode"/],
    ["ssl=true", /unknown option "ssl"/],
    ["ssl-mode=REQUIRED&ssl-mode=DISABLED", /ssl-mode given twice/],
    ["ssl-mode=", /ssl-mode is empty/],
    ["ssl-ca=/a", /need ssl-mode/],
    ["ssl-mode=DISABLED&ssl-ca=/a", /DISABLED takes no/],
    ["ssl-mode=REQUIRED&ssl-ca=/a", /ssl-ca is used only with ssl-mode=VERIFY_CA or VERIFY_IDENTITY/],
    ["ssl-mode=VERIFY_CA&ssl-cert=/b", /ssl-cert and ssl-key go together/],
    ["ssl-mode=VERIFY_CA&ssl-key=/c", /ssl-cert and ssl-key go together/],
  ])("refuses ?%s", (query, why) => {
    expect(() => parseDatabaseUrl(withQuery(query))).toThrow(why);
  });

  it("refuses VERIFY_IDENTITY against an IP address: mysql2 would check the certificate against `localhost`", () => {
    for (const host of ["127.0.0.1", "[::1]"]) {
      expect(() => parseDatabaseUrl(`mysql://u@${host}/db?ssl-mode=VERIFY_IDENTITY`)).toThrow(/needs the host name .* not an IP address/);
      expect(parseDatabaseUrl(`mysql://u@${host}/db?ssl-mode=VERIFY_CA`).tls).toEqual({ mode: "VERIFY_CA" });
    }
  });

  it("refuses what is not a mysql:// URL or has a bad database name", () => {
    expect(() => parseDatabaseUrl("postgres://localhost/x")).toThrow(/must be a mysql:\/\/ URL/);
    expect(() => parseDatabaseUrl("not a url")).toThrow(/not a URL/);
    expect(() => parseDatabaseUrl("mysql://h/bad-name")).toThrow(/invalid database name/);
  });
});

describe("checkTlsFiles", () => {
  it("accepts readable PEM files whose key belongs to the certificate", () => {
    expect(() => checkTlsFiles({ mode: "VERIFY_CA", caPath: file("ca.pem"), certPath: file("client.pem"), keyPath: file("client.key") })).not.toThrow();
  });

  it.each([
    ["a missing CA file", { caPath: "/nonexistent/ca.pem" }, /ssl-ca \/nonexistent\/ca\.pem cannot be read \(ENOENT\)/],
    ["a CA file that is not PEM", { caPath: "not-pem.txt" }, /ssl-ca .*not-pem\.txt holds no PEM certificate/],
    ["a certificate that is not PEM", { certPath: "not-pem.txt", keyPath: "client.key" }, /ssl-cert .*not-pem\.txt is not a PEM certificate/],
    ["another certificate's key", { certPath: "client.pem", keyPath: "ca.key" }, /ssl-key .*ca\.key is not the private key of ssl-cert .*client\.pem/],
    ["an encrypted key", { certPath: "client.pem", keyPath: "encrypted.key" }, /ssl-key .*encrypted\.key is encrypted/],
  ])("refuses %s", (_what, paths, why) => {
    const abs = Object.fromEntries(Object.entries(paths).map(([k, v]) => [k, v.startsWith("/") ? v : file(v)]));
    expect(() => checkTlsFiles({ mode: "VERIFY_CA", ...abs })).toThrow(why);
  });
});

describe("what mysql2 gets", () => {
  it("verifies nothing under REQUIRED, the chain under VERIFY_CA, the chain and the name under VERIFY_IDENTITY", () => {
    expect(sslOptions({ mode: "REQUIRED" })).toEqual({ rejectUnauthorized: false, verifyIdentity: false });
    expect(sslOptions({ mode: "VERIFY_CA", caPath: file("ca.pem") })).toMatchObject({ rejectUnauthorized: true, verifyIdentity: false, ca: expect.stringContaining("BEGIN CERTIFICATE") });
    const both = sslOptions({ mode: "VERIFY_IDENTITY", certPath: file("client.pem"), keyPath: file("client.key") });
    expect(both).toMatchObject({ rejectUnauthorized: true, verifyIdentity: true, cert: expect.stringContaining("BEGIN CERTIFICATE"), key: expect.stringContaining("PRIVATE KEY") });
    expect(both).not.toHaveProperty("ca"); // Node's bundled roots
  });

  it("gives plain TCP no ssl option at all", () => {
    expect(connectionOptions(parseDatabaseUrl(BASE))).toEqual({ host: "db.example.com", port: 3307, user: "zent", password: "s3cr@t" });
  });
});

describe("DATABASE_URL in loadConfig", () => {
  const refusal = (url: string) => {
    try {
      loadConfig({ DATABASE_URL: url });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error("accepted");
  };

  it("refuses in one line naming DATABASE_URL, the password shown as ***", () => {
    for (const url of [withQuery("ssl-mode=PREFERRED"), withQuery("ssl-mode=VERIFY_CA&ssl-ca=/nonexistent.pem"), "mysql://zent:s3cr%40t@h/bad-name"]) {
      const message = refusal(url);
      expect(message).toMatch(/^invalid DATABASE_URL="mysql:\/\/zent:\*\*\*@/);
      expect(message).not.toMatch(/s3cr/);
      expect(message).not.toContain("\n");
    }
  });

  it("carries the parsed target, its files checked", () => {
    const c = loadConfig({ DATABASE_URL: withQuery(`ssl-mode=VERIFY_CA&ssl-ca=${file("ca.pem")}`) });
    expect(c.database).toMatchObject({ host: "db.example.com", password: "s3cr@t", tls: { mode: "VERIFY_CA", caPath: file("ca.pem") } });
  });

  it("hides only the password of a URL", () => {
    expect(redactUrl("mysql://u:p%40ss@h:1/db?ssl-mode=REQUIRED")).toBe("mysql://u:***@h:1/db?ssl-mode=REQUIRED");
    expect(redactUrl("nats://user:pw@nats:4222")).toBe("nats://user:***@nats:4222");
    expect(redactUrl("mysql://root@h/db")).toBe("mysql://root@h/db");
    expect(redactUrl("5 per minute")).toBe("5 per minute");
  });
});
