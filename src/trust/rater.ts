// The rater's identity (contract §8.4), decided in one place for every rating route (v1 and legacy): a proved
// `user@home-domain` with its `verified`, or an anonymous user when RATINGS_ANONYMOUS allows it.
import { UnauthorizedError, ValidationError } from "../core/errors.js";
import type { RaterClaim } from "./rating-claim.js";

export type Rater = {
  /** `user@home-domain`, or the bare anonymous user id. */
  identity: string;
  homeDomain: string | null;
  verified: boolean;
  proof: "assertion" | "token" | "anonymous";
};

export interface RaterPorts {
  /** The identity of a valid assertion (jti spent); throws InvalidAssertionError. */
  verifyAssertion(assertion: string): Promise<{ iss: string; sub: string }>;
  /**
   * Checks `token` against the home domain's own token (a domain registered here); the answer is the home
   * domain's `verified`. Throws UnauthorizedError / TokenExpiredError like the owner routes.
   */
  authenticateHome(homeDomain: string, token: string | null): Promise<{ verified: boolean }>;
  ratingsAnonymous: boolean;
}

const NO_IDENTITY =
  "a rating needs the rater's identity: an identity assertion, or from_domain and user_id with the home server's Bearer token";

/** The rater of a rating of `ratedDomain`; a server rating itself is a validation_failed. */
export async function resolveRater(ratedDomain: string, claim: RaterClaim, p: RaterPorts): Promise<Rater> {
  let rater: Rater;
  switch (claim.kind) {
    case "assertion": {
      const who = await p.verifyAssertion(claim.assertion);
      rater = { identity: `${who.sub}@${who.iss}`, homeDomain: who.iss, verified: true, proof: "assertion" };
      break;
    }
    case "token": {
      if (claim.token === null) throw new UnauthorizedError(`rating as a user of ${claim.homeDomain} needs ${claim.homeDomain}'s Bearer token`);
      const home = await p.authenticateHome(claim.homeDomain, claim.token);
      rater = { identity: `${claim.userId}@${claim.homeDomain}`, homeDomain: claim.homeDomain, verified: home.verified, proof: "token" };
      break;
    }
    case "anonymous":
      if (!p.ratingsAnonymous) throw new UnauthorizedError(NO_IDENTITY);
      return { identity: claim.userId, homeDomain: null, verified: false, proof: "anonymous" };
    case "none":
      // With anonymous ratings allowed, the old form is what is missing: its user_id (§8.4).
      if (p.ratingsAnonymous) throw new ValidationError("a rating needs a user_id or a proved identity", [{ path: "user_id", message: "required" }]);
      throw new UnauthorizedError(NO_IDENTITY);
  }
  if (rater.homeDomain === ratedDomain) {
    throw new ValidationError("a server cannot rate itself", [{ path: claim.kind === "assertion" ? "assertion" : "from_domain", message: "is the rated server's own domain" }]);
  }
  return rater;
}
