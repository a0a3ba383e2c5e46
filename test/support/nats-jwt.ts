// Decentralised NATS auth for tests: an operator, an account and a user as signed JWTs (nkeys, ed25519), a
// nats-server config in operator mode with the account preloaded, and the user's .creds file as `nsc` writes it.
import { createHash, randomBytes } from "node:crypto";
import { createAccount, createOperator, createUser, type KeyPair } from "@nats-io/nkeys";

const b64url = (data: Uint8Array | string) => Buffer.from(data).toString("base64url");

function sign(issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>): string {
  const header = b64url(JSON.stringify({ typ: "JWT", alg: "ed25519-nkey" }));
  const claims: Record<string, unknown> = { iat: Math.floor(Date.now() / 1000), iss: issuer.getPublicKey(), name, sub: subject, nats: { ...nats, version: 2 } };
  claims.jti = createHash("sha256").update(JSON.stringify(claims) + randomBytes(8).toString("hex")).digest("base64url").slice(0, 52).toUpperCase();
  const body = b64url(JSON.stringify(claims));
  const sig = b64url(issuer.sign(new TextEncoder().encode(`${header}.${body}`)));
  return `${header}.${body}.${sig}`;
}

export type NatsJwtSetup = {
  /** Lines for nats-server's config (operator mode, memory resolver with the account preloaded). */
  serverConfig: string;
  /** The user's .creds file content. */
  creds: string;
  /** A .creds file of a user signed by an account the server does not know. */
  foreignCreds: string;
};

const UNLIMITED = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };

function credsFile(jwt: string, seed: Uint8Array): string {
  return `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${new TextDecoder().decode(seed)}\n------END USER NKEY SEED------\n`;
}

/** One operator, one account with JetStream, one user limited to `allow` subjects (publish and subscribe). */
export function makeNatsJwt(allow: string[]): NatsJwtSetup {
  const operator = createOperator();
  const account = createAccount();
  const user = createUser();
  const operatorJwt = sign(operator, operator.getPublicKey(), "test-operator", { type: "operator" });
  const accountJwt = sign(operator, account.getPublicKey(), "registrar", { type: "account", limits: UNLIMITED, default_permissions: { pub: {}, sub: {} } });
  const userJwt = sign(account, user.getPublicKey(), "registrar", {
    type: "user", pub: { allow }, sub: { allow }, resp: { max: 1, ttl: 0 }, subs: -1, data: -1, payload: -1,
  });
  const stranger = createAccount();
  const strangerUser = createUser();
  const strangerJwt = sign(stranger, strangerUser.getPublicKey(), "stranger", { type: "user", subs: -1, data: -1, payload: -1 });
  // JetStream in operator mode needs a system account.
  const system = createAccount();
  const systemJwt = sign(operator, system.getPublicKey(), "SYS", { type: "account", limits: { ...UNLIMITED, mem_storage: 0, disk_storage: 0, streams: 0, consumer: 0 } });
  const serverConfig = [
    `operator: "${operatorJwt}"`,
    `system_account: ${system.getPublicKey()}`,
    "resolver: MEMORY",
    "resolver_preload: {",
    `  ${account.getPublicKey()}: "${accountJwt}"`,
    `  ${system.getPublicKey()}: "${systemJwt}"`,
    "}",
  ].join("\n");
  return { serverConfig, creds: credsFile(userJwt, user.getSeed()), foreignCreds: credsFile(strangerJwt, strangerUser.getSeed()) };
}
