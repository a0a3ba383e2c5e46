// A throwaway MariaDB with TLS on a free loopback port (never the shared one on 3306): its own data directory,
// certificates made with openssl, users that must use TLS; killed by PID and removed by stop().
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import mysql from "mysql2/promise";
import { freePort } from "./nats-server.js";

const MARIADBD = process.env.MARIADBD_BIN ?? "/usr/sbin/mariadbd";
const INSTALL_DB = process.env.MARIADB_INSTALL_DB_BIN ?? "/usr/bin/mariadb-install-db";

/** The names the server certificate is first issued to: the two ways a test reaches this server. */
export const SERVER_CERT_NAMES = ["DNS:localhost", "IP:127.0.0.1"];

export type TlsMariaDb = {
  port: number;
  dir: string;
  /** PEM files: the CA that signed the server and client certificates, another CA, a client certificate and key. */
  files: { ca: string; otherCa: string; clientCert: string; clientKey: string; otherKey: string };
  /** Accounts (with all privileges): `tls` must use TLS (REQUIRE SSL), `x509` must also show a client certificate. */
  users: { tls: { user: string; password: string }; x509: { user: string; password: string } };
  /** A root connection over the Unix socket, for checks. */
  root(): Promise<mysql.Connection>;
  /** Gives the server a new certificate from the same CA for these SANs (e.g. "DNS:db.example"), live (FLUSH SSL). */
  reissueServerCert(names: string[]): Promise<void>;
  stop(): Promise<void>;
};

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
}

/** A CA, an unrelated CA (same subject), and a client certificate and key from the first. */
export function makeCertificates(dir: string): TlsMariaDb["files"] {
  const f = (name: string) => path.join(dir, name);
  openssl(dir, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=zent test CA"]);
  openssl(dir, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other-ca.key", "-out", "other-ca.pem", "-days", "2", "-subj", "/CN=zent test CA"]);
  openssl(dir, ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=zent-registrar"]);
  openssl(dir, ["x509", "-req", "-in", "client.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "client.pem", "-days", "2"]);
  return { ca: f("ca.pem"), otherCa: f("other-ca.pem"), clientCert: f("client.pem"), clientKey: f("client.key"), otherKey: f("other-ca.key") };
}

/** server.pem and server.key, signed by ca.pem, for these subject alternative names. */
export function issueServerCert(dir: string, names: string[]): { cert: string; key: string } {
  writeFileSync(path.join(dir, "server.ext"), `subjectAltName=${names.join(",")}\n`);
  openssl(dir, ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=zent test MariaDB"]);
  openssl(dir, ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext"]);
  return { cert: path.join(dir, "server.pem"), key: path.join(dir, "server.key") };
}

async function waitReady(socket: string, child: ChildProcess, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mariadbd exited with ${child.exitCode} before it was ready`);
    try {
      const c = await mysql.createConnection({ socketPath: socket, user: "root" });
      await c.end();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`mariadbd not ready after ${timeoutMs} ms: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function startTlsMariaDb(): Promise<TlsMariaDb> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "zt-mariadb-tls-"));
  let child: ChildProcess | null = null;
  const stop = async () => {
    const c = child;
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise((r) => c.once("exit", r));
      process.kill(c.pid!, "SIGKILL");
      await exited;
    }
    child = null;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const files = makeCertificates(dir);
    const server = issueServerCert(dir, SERVER_CERT_NAMES);
    const data = path.join(dir, "data");
    const socket = path.join(dir, "mariadb.sock");
    // --user=root: mariadbd refuses to run as root otherwise (this machine runs tests as root); elsewhere it is ignored.
    execFileSync(INSTALL_DB, ["--no-defaults", `--datadir=${data}`, "--auth-root-authentication-method=normal", "--skip-test-db", "--user=root"], { stdio: "ignore" });
    const port = await freePort();
    child = spawn(
      MARIADBD,
      [
        "--no-defaults", "--user=root", `--datadir=${data}`, `--socket=${socket}`, `--port=${port}`, "--bind-address=127.0.0.1",
        `--pid-file=${path.join(dir, "mariadbd.pid")}`, `--log-error=${path.join(dir, "error.log")}`, "--innodb-buffer-pool-size=32M",
        `--ssl-ca=${files.ca}`, `--ssl-cert=${server.cert}`, `--ssl-key=${server.key}`,
      ],
      { stdio: "ignore" },
    );
    await waitReady(socket, child);
    const users = { tls: { user: "zent_tls", password: "p@ss:w/rd?#" }, x509: { user: "zent_x509", password: "x509-pw" } };
    const root = () => mysql.createConnection({ socketPath: socket, user: "root" });
    const c = await root();
    try {
      await c.query("CREATE USER ?@'%' IDENTIFIED BY ? REQUIRE SSL", [users.tls.user, users.tls.password]);
      await c.query("CREATE USER ?@'%' IDENTIFIED BY ? REQUIRE X509", [users.x509.user, users.x509.password]);
      for (const u of Object.values(users)) await c.query("GRANT ALL PRIVILEGES ON *.* TO ?@'%'", [u.user]);
    } finally {
      await c.end();
    }
    const reissueServerCert = async (names: string[]) => {
      issueServerCert(dir, names);
      const r = await root();
      try {
        await r.query("FLUSH SSL");
      } finally {
        await r.end();
      }
    };
    return { port, dir, files, users, root, reissueServerCert, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
