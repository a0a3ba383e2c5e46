// How a node reaches NATS: servers (credentials in the URL's user part), an optional .creds file (JWT and nkey seed)
// and TLS (a CA to check the server, a client certificate). Files are read when connecting, so a rotated .creds or
// certificate is picked up at the next start.
import { readFileSync } from "node:fs";
import { credsAuthenticator, type ConnectionOptions } from "@nats-io/transport-node";

export type NatsLink = {
  /** NATS_URL: one URL or a comma-separated list; `user:pass@` or `token@` in the user part. */
  url: string;
  /** NATS_CREDS: a .creds file (user JWT + nkey seed), as `nsc` writes it. */
  credsFile?: string;
  /** NATS_TLS_CA / NATS_TLS_CERT / NATS_TLS_KEY: any of them turns TLS on (and requires it from the server). */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
};

/** The nats.js connection options of a link, minus the connection tuning the transport adds. */
export function linkOptions(link: NatsLink): Pick<ConnectionOptions, "servers" | "user" | "pass" | "token" | "authenticator" | "tls"> {
  const { servers, auth } = splitCredentials(link.url);
  const opts: ReturnType<typeof linkOptions> = { servers, ...auth };
  if (link.credsFile) {
    const creds = readFileSync(link.credsFile);
    opts.authenticator = credsAuthenticator(new Uint8Array(creds));
  }
  if (link.tls) opts.tls = { ...link.tls };
  return opts;
}

/** Moves `user:pass@` or `token@` out of the URLs into nats.js auth options (nats.js ignores them in URLs). */
export function splitCredentials(urls: string): { servers: string[]; auth: { user?: string; pass?: string; token?: string } } {
  const auth: { user?: string; pass?: string; token?: string } = {};
  const servers = urls.split(",").map((raw) => {
    const text = raw.trim();
    const m = /^([a-z]+:\/\/)([^@/]*)@(.*)$/i.exec(text);
    if (!m) return text;
    const [user, pass] = m[2].split(":").map(decodeURIComponent);
    if (pass !== undefined) Object.assign(auth, { user, pass });
    else auth.token = user;
    return m[1] + m[3];
  });
  return { servers, auth };
}
