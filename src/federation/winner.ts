// The conflict rule for a domain registered at more than one registrar (contract §6): every registrar computes it
// from the same three fields, so every registrar lists the same winner.
export type Candidate = { readonly origin: string; verified: boolean; createdAtMs: number };

/**
 * Negative when `a` wins over `b`: verified beats unverified, then the earlier created_at, then the smaller origin
 * id (compared as ASCII strings, so the order is the same in every language and collation).
 */
export function compareCandidates(a: Candidate, b: Candidate): number {
  if (a.verified !== b.verified) return a.verified ? -1 : 1;
  if (a.createdAtMs !== b.createdAtMs) return a.createdAtMs - b.createdAtMs;
  return a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0;
}

/** The winner among candidates for one domain (at least one). */
export function pickWinner<T extends Candidate>(candidates: readonly T[]): T {
  let best = candidates[0];
  for (let i = 1; i < candidates.length; i++) if (compareCandidates(candidates[i], best) < 0) best = candidates[i];
  return best;
}
