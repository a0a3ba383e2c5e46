// One proof attempt (contract §8.1, §8.2, §8.6): fetch the domain's document and check it holds the expected challenge.
import type { DocumentFetcher, FetchFailureReason } from "./document-fetcher.js";
import { checkProof, type DocumentKey, type ProofFailure } from "./zent-document.js";

/** Every reason a proof can fail, in the `reason` of `verification_failed` details. */
export type ProofFailureReason = FetchFailureReason | ProofFailure;

export const PROOF_FAILURE_REASONS: readonly ProofFailureReason[] = [
  "unreachable", "timeout", "redirect", "http_status", "too_large", "not_json", "invalid_document", "wrong_domain", "challenge_missing",
];

export type ProofOutcome =
  | { ok: true; documentUrl: string; keys: DocumentKey[]; fetchedAtMs: number }
  | { ok: false; documentUrl: string; reason: ProofFailureReason; message: string };

/**
 * Fetches `domain`'s document and checks `registrars[registrarId] === challenge`. `registrarId` is this registrar
 * for its own records and the record's origin for a mirrored one (§8.6).
 */
export async function attemptProof(
  fetcher: Pick<DocumentFetcher, "fetch">,
  expect: { domain: string; registrarId: string; challenge: string },
  now: () => number = Date.now,
): Promise<ProofOutcome> {
  const fetched = await fetcher.fetch(expect.domain);
  if (!fetched.ok) return { ok: false, documentUrl: fetched.url, reason: fetched.reason, message: fetched.message };
  const proof = checkProof(fetched.json, expect);
  if (!proof.ok) return { ok: false, documentUrl: fetched.url, reason: proof.reason, message: proof.message };
  return { ok: true, documentUrl: fetched.url, keys: proof.keys, fetchedAtMs: now() };
}

/** The `details` entry of a 422 `verification_failed` (contract §1): where, why (a stable reason), and a text. */
export function failureDetail(outcome: { documentUrl: string; reason: ProofFailureReason; message: string }) {
  return { path: outcome.documentUrl, reason: outcome.reason, message: outcome.message };
}
