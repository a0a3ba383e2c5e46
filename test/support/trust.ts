// Trust test helpers (contract §8): registrar settings that fetch documents from a local DocumentServer, and the
// steps a server operator takes (register, ask for a challenge, publish it, have it checked).
import { buildZentDocument, generateIdentityKey, type GeneratedIdentityKey } from "../../client/zent-document.js";
import { api, newServer } from "./http.js";
import type { DocumentServer } from "./zent-docs.js";

/** WELL_KNOWN_URL on the test's document server (a development template: needs both settings below). */
export function trustEnv(docs: DocumentServer, extra: Record<string, string> = {}): Record<string, string> {
  return {
    WELL_KNOWN_URL: docs.urlTemplate, ALLOW_INSECURE_URLS: "true", ALLOW_PRIVATE_FETCH: "true", RATE_LIMIT_REGISTER: "off",
    RATE_LIMIT_RATE: "off", RATE_LIMIT_LIST: "off", RATE_LIMIT_RECOVERY: "off", ...extra,
  };
}

export type TestServer = { domain: string; token: string; key: GeneratedIdentityKey; kid: string };

/** Publishes `domain`'s document with these registrar challenges and keys. */
export async function publish(docs: DocumentServer, domain: string, registrars: Record<string, string>, keys: { kid: string; key: GeneratedIdentityKey; validUntil?: string }[] = []) {
  const doc = await buildZentDocument({
    domain,
    registrars,
    keys: keys.map((k) => ({ kid: k.kid, publicKey: k.key.publicKey, validUntil: k.validUntil ?? new Date(Date.now() + 86_400_000).toISOString() })),
  });
  docs.set(domain, { json: doc });
  return doc;
}

/** Registers a server and proves its domain at the registrar `registrarId` (its document also lists a key). */
export async function verifiedServer(url: string, docs: DocumentServer, registrarId: string, overrides: Record<string, unknown> = {}): Promise<TestServer> {
  const c = api(url);
  const body = newServer(overrides);
  const reg = await c.post("/v1/servers", body);
  if (reg.status !== 201) throw new Error(`registration failed: ${reg.status} ${reg.text}`);
  const token = reg.body.token as string;
  const ch = await c.post(`/v1/servers/${body.domain}/verification`, undefined, { token });
  if (ch.status !== 200) throw new Error(`challenge failed: ${ch.status} ${ch.text}`);
  const key = await generateIdentityKey();
  await publish(docs, body.domain, { [registrarId]: ch.body.challenge }, [{ kid: "k1", key }]);
  const check = await c.post(`/v1/servers/${body.domain}/verification/check`, undefined, { token });
  if (check.status !== 200) throw new Error(`check failed: ${check.status} ${check.text}`);
  return { domain: body.domain, token, key, kid: "k1" };
}
