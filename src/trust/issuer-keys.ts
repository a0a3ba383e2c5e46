// The keys an identity assertion may be signed with (contract §8.3): those of a domain verified here, from its last
// successful document fetch; cached briefly per node so a burst of assertions costs one query per issuer.
import type { IdentityKey } from "../../client/trust-types.js";
import type { ServerRecord } from "../core/record.js";
import type { VerifiedIssuerKeys } from "./assertion-verifier.js";
import type { DomainKeysRepo, StoredKeys } from "./domain-keys-repo.js";

/** A fetch on another node replaces the keys in MySQL; this node sees them at most this much later. */
export const ISSUER_KEYS_CACHE_MS = 5_000;
const MAX_CACHED = 10_000;

export class IssuerKeys implements VerifiedIssuerKeys {
  private readonly cache = new Map<string, { stored: StoredKeys | null; atMs: number }>();

  constructor(
    private readonly listed: (domain: string) => ServerRecord | undefined,
    private readonly repo: Pick<DomainKeysRepo, "get">,
    private readonly now: () => number = Date.now,
  ) {}

  /** The keys and when they were fetched, for a domain that is listed and verified here; else null. */
  async stored(domain: string): Promise<StoredKeys | null> {
    const rec = this.listed(domain);
    if (!rec || !rec.verified) return null;
    const hit = this.cache.get(domain);
    if (hit && this.now() - hit.atMs < ISSUER_KEYS_CACHE_MS) return hit.stored;
    const stored = await this.repo.get(domain);
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(domain, { stored, atMs: this.now() });
    return stored;
  }

  async keysOf(iss: string): Promise<readonly IdentityKey[] | null> {
    return (await this.stored(iss))?.keys ?? null;
  }

  /** This node just stored new keys for the domain. */
  forget(domain: string): void {
    this.cache.delete(domain);
  }
}
