// DATABASE_URL: the mysql:// URL (user, password, host, port, database) and its TLS options, parsed once, and the
// mysql2 options every connection the registrar opens (pool, migrations, CLIs) is made from (issue 13).
import { readFileSync } from "node:fs";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import type { ConnectionOptions, SslOptions } from "mysql2";

/**
 * MySQL's own `--ssl-mode` values (mysql client, Connector/J `sslMode`), less PREFERRED: mysql2 cannot fall back to
 * plain text when the server has no TLS, and a silent fall-back is what TLS is meant to rule out.
 */
export const SSL_MODES = ["DISABLED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** The query options DATABASE_URL takes, named after the mysql client's options (README "Configuration"). */
const OPTIONS = ["ssl-mode", "ssl-ca", "ssl-cert", "ssl-key"] as const;

/** TLS to MySQL: the mode and the PEM files, as paths (read when a connection is configured). */
export type MysqlTls = { mode: Exclude<SslMode, "DISABLED">; caPath?: string; certPath?: string; keyPath?: string };

export type DatabaseTarget = {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** null: plain TCP (ssl-mode absent or DISABLED). */
  tls: MysqlTls | null;
};

/** Thrown for a DATABASE_URL the registrar refuses; the message never contains the password. */
export class DatabaseUrlError extends Error {}

/** Parses DATABASE_URL without touching the files it names (checkTlsFiles does that). */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new DatabaseUrlError("not a URL (expected mysql://user:password@host:port/database)");
  }
  if (u.protocol !== "mysql:") throw new DatabaseUrlError("must be a mysql:// URL");
  const database = decodeURIComponent(u.pathname.replace(/^\//, "")) || "zent_registrar";
  if (!/^[A-Za-z0-9_$]{1,64}$/.test(database)) throw new DatabaseUrlError(`invalid database name ${JSON.stringify(database)}`);
  const tls = parseTls(u.searchParams);
  // mysql2 sends no server name for an IP address, and Node then checks the certificate against "localhost": any
  // certificate the CA issued to localhost would pass. So the name check needs a name.
  if (tls?.mode === "VERIFY_IDENTITY" && isIP(u.hostname.replace(/^\[|\]$/g, "")) !== 0) {
    throw new DatabaseUrlError("ssl-mode=VERIFY_IDENTITY needs the host name on the server's certificate, not an IP address (or use VERIFY_CA)");
  }
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || "root"),
    password: decodeURIComponent(u.password || ""),
    database,
    tls,
  };
}

function parseTls(params: URLSearchParams): MysqlTls | null {
  const seen = new Map<string, string>();
  for (const [key, value] of params) {
    if (!(OPTIONS as readonly string[]).includes(key)) {
      throw new DatabaseUrlError(`unknown option ${JSON.stringify(key)} (known: ${OPTIONS.join(", ")})`);
    }
    if (seen.has(key)) throw new DatabaseUrlError(`option ${key} given twice`);
    if (value === "") throw new DatabaseUrlError(`option ${key} is empty`);
    seen.set(key, value);
  }
  const files = { caPath: seen.get("ssl-ca"), certPath: seen.get("ssl-cert"), keyPath: seen.get("ssl-key") };
  const rawMode = seen.get("ssl-mode");
  const anyFile = files.caPath !== undefined || files.certPath !== undefined || files.keyPath !== undefined;
  if (rawMode === undefined) {
    // A CA file alone does not say whether the host name is to be checked too: ask rather than guess.
    if (anyFile) throw new DatabaseUrlError("ssl-ca, ssl-cert and ssl-key need ssl-mode (REQUIRED, VERIFY_CA or VERIFY_IDENTITY)");
    return null;
  }
  const mode = rawMode.toUpperCase();
  if (mode === "PREFERRED") {
    throw new DatabaseUrlError("ssl-mode=PREFERRED is not supported (it would fall back to plain text); use REQUIRED or a VERIFY_ mode, or DISABLED");
  }
  if (!(SSL_MODES as readonly string[]).includes(mode)) {
    throw new DatabaseUrlError(`ssl-mode must be one of ${SSL_MODES.join(", ")}, not ${JSON.stringify(rawMode)}`);
  }
  if (mode === "DISABLED") {
    if (anyFile) throw new DatabaseUrlError("ssl-mode=DISABLED takes no ssl-ca, ssl-cert or ssl-key");
    return null;
  }
  // REQUIRED encrypts without checking who answers: a CA there would look like verification and not be one.
  if (mode === "REQUIRED" && files.caPath !== undefined) {
    throw new DatabaseUrlError("ssl-ca is used only with ssl-mode=VERIFY_CA or VERIFY_IDENTITY (REQUIRED does not verify the server)");
  }
  if ((files.certPath === undefined) !== (files.keyPath === undefined)) {
    throw new DatabaseUrlError("ssl-cert and ssl-key go together (the client certificate and its private key)");
  }
  const tls: MysqlTls = { mode: mode as MysqlTls["mode"] };
  for (const [k, v] of Object.entries(files)) if (v !== undefined) tls[k as "caPath" | "certPath" | "keyPath"] = v;
  return tls;
}

/**
 * Reads and checks the PEM files at start-up, so a wrong path, a file that is not PEM, or a key that is not the
 * certificate's fails in one line before any connection is tried.
 */
export function checkTlsFiles(tls: MysqlTls): void {
  const pem = readPem(tls);
  if (pem.ca !== undefined) {
    const certs = splitCertificates(pem.ca);
    if (certs.length === 0) throw new DatabaseUrlError(`ssl-ca ${tls.caPath} holds no PEM certificate`);
    for (const c of certs) parseCertificate(c, "ssl-ca", tls.caPath!);
  }
  if (pem.cert !== undefined && pem.key !== undefined) {
    const cert = parseCertificate(pem.cert, "ssl-cert", tls.certPath!);
    // There is no option for a passphrase (nor a way to type one at start-up).
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem.key)) {
      throw new DatabaseUrlError(`ssl-key ${tls.keyPath} is encrypted (use an unencrypted key, readable only by the registrar)`);
    }
    let key;
    try {
      key = createPrivateKey(pem.key);
    } catch {
      throw new DatabaseUrlError(`ssl-key ${tls.keyPath} is not a PEM private key`);
    }
    if (!cert.checkPrivateKey(key)) throw new DatabaseUrlError(`ssl-key ${tls.keyPath} is not the private key of ssl-cert ${tls.certPath}`);
  }
}

/** The mysql2 connection options of a target (without its database), the files read now. */
export function connectionOptions(target: DatabaseTarget): ConnectionOptions {
  const base: ConnectionOptions = { host: target.host, port: target.port, user: target.user, password: target.password };
  return target.tls ? { ...base, ssl: sslOptions(target.tls) } : base;
}

/**
 * mysql2's `ssl`: REQUIRED encrypts only; VERIFY_CA checks the chain against ssl-ca (or Node's bundled roots when
 * there is none); VERIFY_IDENTITY also checks the certificate names the host of DATABASE_URL (a name, never an IP:
 * parseDatabaseUrl). One object per target: mysql2 shares the parsed secure context between connections made from it.
 */
export function sslOptions(tls: MysqlTls): SslOptions {
  const pem = readPem(tls);
  const ssl: SslOptions = { rejectUnauthorized: tls.mode !== "REQUIRED", verifyIdentity: tls.mode === "VERIFY_IDENTITY" };
  if (pem.ca !== undefined) ssl.ca = pem.ca;
  if (pem.cert !== undefined) ssl.cert = pem.cert;
  if (pem.key !== undefined) ssl.key = pem.key;
  return ssl;
}

/**
 * The URL with its password replaced by `***`, for error messages and logs. The user part ends at the last `@`, so a
 * password with an unescaped `/`, `?`, `#` or `@` is hidden too (review L5); a user part without a password is a
 * token in a NATS URL (`nats://<token>@host`) and is hidden whole, except for mysql:// (there it is a user name).
 */
export function redactUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(.*)@/i.exec(url);
  if (!m) return url;
  const [whole, scheme, userinfo] = m;
  const colon = userinfo.indexOf(":");
  const shown = colon >= 0 ? `${userinfo.slice(0, colon)}:***` : /^mysql:/i.test(scheme) ? userinfo : "***";
  return `${scheme}${shown}@${url.slice(whole.length)}`;
}

function readPem(tls: MysqlTls): { ca?: string; cert?: string; key?: string } {
  const read = (option: string, file: string | undefined) => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file, "utf8");
    } catch (err) {
      throw new DatabaseUrlError(`${option} ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  return { ca: read("ssl-ca", tls.caPath), cert: read("ssl-cert", tls.certPath), key: read("ssl-key", tls.keyPath) };
}

function splitCertificates(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
}

function parseCertificate(pem: string, option: string, file: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new DatabaseUrlError(`${option} ${file} is not a PEM certificate`);
  }
}
