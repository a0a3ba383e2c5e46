// The registrar's identity-assertion check (contract §8.3, `POST /v1/identity/verify`, ratings §8.4): the shared
// rules of client/identity.ts, keys only of verified issuers, and a cluster-wide single use of each jti.
import { InvalidAssertionError as AssertionRejected, verifyIdentityAssertion, type AssertionRejection, type VerifiedIdentity } from "../../client/identity.js";
import type { IdentityKey } from "../../client/trust-types.js";
import { InvalidAssertionError } from "../core/errors.js";
import type { JtiLedger } from "./jti-ledger.js";

/** The current keys of `iss` when it is a domain verified here (from its last successful document fetch), else null. */
export interface VerifiedIssuerKeys {
  keysOf(iss: string): Promise<readonly IdentityKey[] | null>;
}

export type { VerifiedIdentity };

/** The contract's 401 invalid_assertion with the rule that failed (`reason`) for logs and tests; clients see one
 * code whatever it was, so refusals are no oracle. */
export class AssertionRefusedError extends InvalidAssertionError {
  constructor(
    readonly reason: AssertionRejection,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class AssertionVerifier {
  constructor(
    private readonly audience: string,
    private readonly issuers: VerifiedIssuerKeys,
    private readonly ledger: JtiLedger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The identity `sub@iss`, or throws the contract's InvalidAssertionError (401). The jti is spent only after
   * everything else passed, so a forged or expired assertion cannot burn the id of a genuine one.
   */
  async verify(assertion: string): Promise<VerifiedIdentity> {
    let identity: VerifiedIdentity;
    try {
      identity = await verifyIdentityAssertion(assertion, { audience: this.audience, keys: (iss) => this.issuers.keysOf(iss), nowMs: this.now() });
    } catch (err) {
      if (err instanceof AssertionRejected) throw new AssertionRefusedError(err.reason, err.message, { cause: err });
      throw err;
    }
    if (!(await this.ledger.consume(identity.iss, identity.jti, identity.exp * 1000))) {
      throw new AssertionRefusedError("replayed", "this assertion was already used");
    }
    return identity;
  }
}
