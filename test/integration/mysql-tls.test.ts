// Issue 13: TLS to MySQL from DATABASE_URL's ssl-mode, ssl-ca, ssl-cert and ssl-key, against a throwaway MariaDB
// whose accounts must use TLS: the registrar (migrations, pool, HTTP) and the migrate CLI connect with the options,
// and are refused without them, with another CA under VERIFY_CA, and with a host name the certificate lacks.
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../../src/store/migrate.js";
import { api, newServer } from "../support/http.js";
import { startTlsMariaDb, type TlsMariaDb } from "../support/mariadb-tls.js";
import { ROOT, startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

let db: TlsMariaDb;
let n = 0;

beforeAll(async () => {
  db = await startTlsMariaDb();
}, 60_000);

afterAll(async () => {
  await db?.stop();
});

type Who = "tls" | "x509";

/** A DATABASE_URL for a fresh database on the TLS server, with these query options. */
function url(who: Who, options: Record<string, string>, host = "localhost"): string {
  const { user, password } = db.users[who];
  const query = new URLSearchParams(options).toString();
  return `mysql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${db.port}/zt_tls_${++n}${query ? `?${query}` : ""}`;
}

function refusal(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => {
      throw new Error("connected, but should have been refused");
    },
    (err: Error) => err.message,
  );
}

function runMigrateCli(databaseUrl: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/migrate-cli.ts"], {
      cwd: ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: databaseUrl }, stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += String(d)));
    child.stderr.on("data", (d) => (stderr += String(d)));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("TLS to MySQL (DATABASE_URL ssl-mode, ssl-ca, ssl-cert, ssl-key)", () => {
  it("runs the registrar over TLS with ssl-mode=VERIFY_IDENTITY and the server's CA: migrations, pool, registrations", async () => {
    let reg: InProcessRegistrar | undefined;
    try {
      reg = await startRegistrar({ DATABASE_URL: url("tls", { "ssl-mode": "VERIFY_IDENTITY", "ssl-ca": db.files.ca }), LOG_LEVEL: "warn" });
      const c = api(reg.url);
      const created = await c.post("/v1/servers", newServer());
      expect(created.status).toBe(201);
      const domain = created.body.server.domain;
      expect((await c.post(`/v1/servers/${domain}/heartbeat`, {}, { token: created.body.token })).status).toBe(200);
      // The pool's own connections are encrypted (the account could not log in otherwise, and MariaDB says so).
      const [rows] = await reg.node.db.query<any[]>("SHOW SESSION STATUS LIKE 'Ssl_version'");
      expect(rows[0].Value).toMatch(/^TLSv1\.[23]$/);
      const root = await db.root();
      try {
        const [persisted] = await root.query<any[]>(`SELECT domain FROM zt_tls_${n}.servers`);
        expect(persisted.map((r) => r.domain)).toEqual([domain]);
      } finally {
        await root.end();
      }
    } finally {
      await reg?.stop();
    }
  });

  it("is refused by an account that requires TLS when DATABASE_URL has no ssl-mode, without showing the password", async () => {
    const message = await refusal(startRegistrar({ DATABASE_URL: url("tls", {}), LOG_LEVEL: "silent" }));
    expect(message).toMatch(/Access denied for user 'zent_tls'/);
    expect(message).not.toContain(db.users.tls.password);
  });

  it("refuses a server certificate signed by another CA under ssl-mode=VERIFY_CA", async () => {
    const message = await refusal(startRegistrar({ DATABASE_URL: url("tls", { "ssl-mode": "VERIFY_CA", "ssl-ca": db.files.otherCa }), LOG_LEVEL: "silent" }));
    // The chain MariaDB sends ends in a CA that ssl-ca does not hold.
    expect(message).toMatch(/self-signed certificate in certificate chain|unable to (get local issuer|verify the first) certificate/);
  });

  it("encrypts without verifying under ssl-mode=REQUIRED, and reaches an IP address under VERIFY_CA", async () => {
    expect((await migrate(url("tls", { "ssl-mode": "REQUIRED" }))).length).toBeGreaterThan(0);
    expect((await migrate(url("tls", { "ssl-mode": "VERIFY_CA", "ssl-ca": db.files.ca }, "127.0.0.1"))).length).toBeGreaterThan(0);
  });

  it("shows a client certificate (ssl-cert, ssl-key) to an account that requires one, from the migrate CLI too", async () => {
    const { clientCert, clientKey, ca } = db.files;
    const without = await refusal(migrate(url("x509", { "ssl-mode": "VERIFY_CA", "ssl-ca": ca })));
    expect(without).toMatch(/Access denied for user 'zent_x509'/);
    const cli = await runMigrateCli(url("x509", { "ssl-mode": "VERIFY_IDENTITY", "ssl-ca": ca, "ssl-cert": clientCert, "ssl-key": clientKey }));
    expect(cli.stderr).toBe("");
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout).applied).toContain("001_init.sql");
  });

  // Last: it changes the server's certificate.
  it("checks the host name only under VERIFY_IDENTITY: refused once the certificate no longer names localhost", async () => {
    const ca = db.files.ca;
    await db.reissueServerCert(["DNS:db.test.invalid", "IP:127.0.0.1"]);
    const message = await refusal(migrate(url("tls", { "ssl-mode": "VERIFY_IDENTITY", "ssl-ca": ca })));
    expect(message).toMatch(/Host: localhost\. is not in the cert's altnames: DNS:db\.test\.invalid/);
    // VERIFY_CA checks the chain, not the name.
    expect((await migrate(url("tls", { "ssl-mode": "VERIFY_CA", "ssl-ca": ca }))).length).toBeGreaterThan(0);
  });

  it("makes the migrate CLI refuse a bad TLS option in one line naming DATABASE_URL, the password hidden", async () => {
    const cli = await runMigrateCli(url("tls", { "ssl-mode": "VERIFY_CA", "ssl-ca": `${db.dir}/no-such-ca.pem` }));
    expect(cli.code).toBe(1);
    const lines = cli.stderr.split("\n").filter(Boolean);
    expect(lines).toEqual([expect.stringMatching(/^config error: invalid DATABASE_URL=.*ssl-ca .*no-such-ca\.pem cannot be read \(ENOENT\)$/)]);
    expect(cli.stderr).not.toContain(encodeURIComponent(db.users.tls.password));
    expect(cli.stderr).toContain(":***@");
  });
});
