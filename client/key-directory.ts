// Where a Zent server gets another server's keys (contract §8.3): from a registrar (signed) or from the domain itself.
import type { IssuerKeys } from "./identity.js";
import { verifyZentSignature } from "./signature.js";
import type { DomainKeys, IdentityKey, RegistrarKeys, ZentDocument } from "./trust-types.js";

export type KeyFetchOptions = { fetch?: typeof fetch; timeoutMs?: number };

export class KeyDirectoryError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = "KeyDirectoryError";
  }
}

async function get(url: string, o: KeyFetchOptions): Promise<Response> {
  const fetchImpl = o.fetch ?? globalThis.fetch.bind(globalThis);
  return fetchImpl(url, { headers: { Accept: "application/json" }, redirect: "error", signal: AbortSignal.timeout(o.timeoutMs ?? 10_000) });
}

function base(url: string): string {
  return url.replace(/\/+$/, "");
}

/** `GET /.well-known/zent-registrar`: the registrar's id and signing keys. Fetch it once and keep (pin) it. */
export async function fetchRegistrarKeys(registrarUrl: string, o: KeyFetchOptions = {}): Promise<RegistrarKeys> {
  const res = await get(`${base(registrarUrl)}/.well-known/zent-registrar`, o);
  if (!res.ok) throw new KeyDirectoryError(`the registrar answered HTTP ${res.status}`, res.status);
  const body = (await res.json()) as RegistrarKeys;
  if (typeof body?.registrar !== "string" || !Array.isArray(body.keys)) throw new KeyDirectoryError("not a zent-registrar document");
  return body;
}

/**
 * `GET /v1/servers/:domain/keys` through a registrar, checked against `registrar` (its pinned keys): the body is
 * accepted only when its `Zent-Signature` verifies over the exact bytes received. null when the domain is unknown
 * or not verified there (404).
 */
export async function fetchKeysFromRegistrar(registrarUrl: string, domain: string, registrar: RegistrarKeys, o: KeyFetchOptions = {}): Promise<DomainKeys | null> {
  const res = await get(`${base(registrarUrl)}/v1/servers/${encodeURIComponent(domain)}/keys`, o);
  if (res.status === 404) return null;
  if (!res.ok) throw new KeyDirectoryError(`the registrar answered HTTP ${res.status}`, res.status);
  const bytes = new Uint8Array(await res.arrayBuffer());
  if (!(await verifyZentSignature(bytes, res.headers.get("zent-signature"), registrar))) {
    throw new KeyDirectoryError("the key directory answer is not signed by the pinned registrar key");
  }
  const body = JSON.parse(new TextDecoder().decode(bytes)) as DomainKeys;
  if (body.domain !== domain || !Array.isArray(body.keys)) throw new KeyDirectoryError("the answer is for another domain");
  return body;
}

/** The keys a domain publishes itself, from `https://<domain>/.well-known/zent` (or `documentUrl(domain)`). */
export async function fetchKeysFromDomain(domain: string, o: KeyFetchOptions & { documentUrl?: (domain: string) => string } = {}): Promise<IdentityKey[] | null> {
  const res = await get(o.documentUrl?.(domain) ?? `https://${domain}/.well-known/zent`, o);
  if (res.status === 404) return null;
  if (!res.ok) throw new KeyDirectoryError(`the domain answered HTTP ${res.status}`, res.status);
  const doc = (await res.json()) as ZentDocument;
  if (doc?.domain !== domain) throw new KeyDirectoryError("the document names another domain");
  return Array.isArray(doc.keys) ? doc.keys : [];
}

/** An IssuerKeys source for verifyIdentityAssertion that asks a registrar (signed answers only). */
export function keysFromRegistrar(registrarUrl: string, registrar: RegistrarKeys, o: KeyFetchOptions = {}): IssuerKeys {
  return async (iss) => (await fetchKeysFromRegistrar(registrarUrl, iss, registrar, o))?.keys ?? null;
}

/** An IssuerKeys source for verifyIdentityAssertion that fetches the issuer's own document. */
export function keysFromDomain(o: KeyFetchOptions & { documentUrl?: (domain: string) => string } = {}): IssuerKeys {
  return (iss) => fetchKeysFromDomain(iss, o);
}
