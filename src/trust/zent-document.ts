// The `.well-known/zent` document a server publishes (contract §8.1): its schema, and the proof check against it.
import { z } from "zod";
import { normalizeDomain } from "../domain/domain-name.js";
import { challengesMatch } from "./challenge.js";

/** More keys than this is not a key set but an attack on whoever caches it. */
export const MAX_DOCUMENT_KEYS = 32;
/** Registrars listed in one document (a server registered at more than this many is not a real case). */
export const MAX_DOCUMENT_REGISTRARS = 256;

const BASE64URL_32_BYTES = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/** One of the server's Ed25519 signing keys (§8.3): the raw 32-byte public key in base64url, no padding. */
export const DocumentKey = z.strictObject({
  kid: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, "must be 1-64 characters of A-Z a-z 0-9 . _ : -"),
  alg: z.literal("Ed25519"),
  public_key: z.string().regex(BASE64URL_32_BYTES, "must be the base64url (no padding) of a 32-byte raw Ed25519 key"),
  valid_until: z.iso.datetime({ offset: true }),
});
export type DocumentKey = z.infer<typeof DocumentKey>;

/**
 * The document. Unknown top-level fields are ignored (the format may grow); what the registrar reads is strict.
 * `registrars` values are not constrained beyond a length: another registrar's challenge format is its business.
 */
export const ZentDocument = z.looseObject({
  domain: z.string().max(253),
  registrars: z
    .record(z.string().max(253), z.string().max(256))
    .refine((r) => Object.keys(r).length <= MAX_DOCUMENT_REGISTRARS, `at most ${MAX_DOCUMENT_REGISTRARS} registrars`)
    .default({}),
  keys: z
    .array(DocumentKey)
    .max(MAX_DOCUMENT_KEYS)
    .refine((keys) => new Set(keys.map((k) => k.kid)).size === keys.length, "kids must be distinct")
    .default([]),
});
export type ZentDocument = z.infer<typeof ZentDocument>;

/** Why a fetched document does not prove control; the names are the `reason` of `verification_failed` details. */
export type ProofFailure = "invalid_document" | "wrong_domain" | "challenge_missing";

export type ProofResult =
  | { ok: true; keys: DocumentKey[] }
  | { ok: false; reason: ProofFailure; message: string };

/**
 * Checks a parsed JSON value against the proof rule of §8.1: a valid document for `domain` whose
 * `registrars[registrarId]` equals `challenge`. On success the keys are the ones to keep (§8.3); they are
 * normalised to a UTC `valid_until` so every consumer compares the same strings.
 */
export function checkProof(json: unknown, expect: { domain: string; registrarId: string; challenge: string }): ProofResult {
  const parsed = ZentDocument.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length ? issue.path.join(".") : "document";
    return { ok: false, reason: "invalid_document", message: `the document is not a zent document: ${where}: ${issue.message}` };
  }
  const doc = parsed.data;
  if (normalizeDomain(doc.domain) !== expect.domain) {
    return { ok: false, reason: "wrong_domain", message: `the document's domain is not ${expect.domain}` };
  }
  const listed = Object.hasOwn(doc.registrars, expect.registrarId) ? doc.registrars[expect.registrarId] : undefined;
  if (listed === undefined || !challengesMatch(listed, expect.challenge)) {
    return { ok: false, reason: "challenge_missing", message: `registrars["${expect.registrarId}"] does not hold the challenge` };
  }
  return { ok: true, keys: doc.keys.map((k) => ({ ...k, valid_until: new Date(k.valid_until).toISOString() })) };
}
