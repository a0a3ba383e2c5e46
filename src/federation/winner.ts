// The conflict rule for a domain registered at more than one registrar (contract §6, amended by §8.6): verified
// first, then the earlier created_at, then the smaller origin id; but a record of this registrar yields to a mirrored
// one only when the mirrored one is verified HERE and the local one is not. `verified` of a mirrored record is always
// this registrar's own check (src/federation/mirror-store.ts never takes a peer's word for it).
export type Candidate = { readonly origin: string; verified: boolean; createdAtMs: number };

/** The §6 rule alone: what third registrars, and this one between two mirrored records, decide by. */
function bySection6(a: Candidate, b: Candidate): number {
  if (a.verified !== b.verified) return a.verified ? -1 : 1;
  if (a.createdAtMs !== b.createdAtMs) return a.createdAtMs - b.createdAtMs;
  return a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0;
}

/**
 * Negative when `a` wins over `b`. With `self` (this registrar's id), a local record beats every mirrored one except
 * a mirrored record verified here while the local one is not: neither a peer's `verified: true` nor a backdated
 * `created_at` can take a domain away from its local owner (security review H4). The order stays total: verified
 * mirrored records, then the local one, then unverified mirrored ones (or the local one first when it is verified).
 */
export function compareCandidates(a: Candidate, b: Candidate, self?: string): number {
  const aLocal = a.origin === self;
  if (self !== undefined && aLocal !== (b.origin === self)) {
    const [local, mirrored] = aLocal ? [a, b] : [b, a];
    const mirroredWins = mirrored.verified && !local.verified;
    return mirroredWins === (a === mirrored) ? -1 : 1;
  }
  return bySection6(a, b);
}

/** The winner among candidates for one domain (at least one). */
export function pickWinner<T extends Candidate>(candidates: readonly T[], self?: string): T {
  let best = candidates[0];
  for (let i = 1; i < candidates.length; i++) if (compareCandidates(candidates[i], best, self) < 0) best = candidates[i];
  return best;
}
