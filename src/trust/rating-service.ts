// Ratings (contract §8.4) in one place for every rating route (v1 here, the legacy dialect on top): the rated
// record, the rater's identity, the per-home limit, the write with its event, and the directory's summary.
import { NotFoundError, NotOwnerError, RateLimitedError } from "../core/errors.js";
import type { Initiator } from "../core/events.js";
import { SORT_FIELD, type ServerRecord } from "../core/record.js";
import { domainLimitKey, type RateLimiter } from "../security/rate-limit.js";
import type { Rating, RatingsRepo } from "../store/ratings-repo.js";
import { resolveRater, type RaterPorts } from "./rater.js";
import type { RaterClaim } from "./rating-claim.js";

export type RatingServiceDeps = {
  registrarId: string;
  listed(domain: string): ServerRecord | undefined;
  /** Index-aware mutation of a listed record (the directory's update). */
  update(rec: ServerRecord, fields: number, mutate: () => void): void;
  ratings: Pick<RatingsRepo, "rate">;
  publish(ev: import("../core/events.js").RegistryEvent): void;
  rater: RaterPorts;
  /** RATE_LIMIT_RATE_PER_HOME, keyed by the rater's home domain; null = off. */
  perHome: RateLimiter | null;
};

export class RatingService {
  constructor(private readonly d: RatingServiceDeps) {}

  /** The rated record, which must be this registrar's (a mirrored one is rated at its origin: 403). */
  rated(domain: string): ServerRecord {
    const rec = this.d.listed(domain);
    if (!rec) throw new NotFoundError(`${domain} is not registered`);
    if (rec.origin !== this.d.registrarId) throw new NotOwnerError(`${domain} belongs to registrar ${rec.origin}; rate it there`);
    return rec;
  }

  /**
   * Rates `domain` as the claimed rater. Order matters: the record first (404/403), then the identity (401, or
   * 400 for a self-rating), then the home domain's budget (429), then the write. `created` tells 201 from 200.
   */
  async rate(domain: string, claim: RaterClaim, input: { rating: number; comment?: string | null }, ip: string): Promise<{ created: boolean; rating: Rating }> {
    this.rated(domain);
    const rater = await resolveRater(domain, claim, this.d.rater);
    if (rater.homeDomain !== null && this.d.perHome) {
      const decision = this.d.perHome.take(domainLimitKey(rater.homeDomain));
      if (!decision.allowed) throw new RateLimitedError(decision.retryAfterS);
    }
    const by: Initiator = rater.homeDomain ? { kind: "domain", id: rater.homeDomain } : { kind: "ip", id: ip };
    const w = await this.d.ratings.rate(domain, rater, input, by);
    // The record may have been replaced while the write ran (re-registered): update whatever is listed now.
    const rec = this.d.listed(domain);
    if (rec && rec.origin === this.d.registrarId) this.d.update(rec, SORT_FIELD.rating, () => rec.setRatingSummary(w.summary));
    this.d.publish(w.event);
    return { created: w.created, rating: w.rating };
  }
}
