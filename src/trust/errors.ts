// The contract errors of §8 (contract §1 table): invalid_assertion 401, banned 403, verification_failed 422.
import { RegistrarError, type ErrorDetail } from "../errors.js";
import type { AssertionRejection } from "../../client/identity.js";
import type { ProofFailureReason } from "./proof.js";

/** `reason` names the failed rule for logs and tests; clients see one code whatever it was (no oracle). */
export class InvalidAssertionError extends RegistrarError {
  readonly code = "invalid_assertion";
  readonly status = 401;
  constructor(
    readonly reason: AssertionRejection,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
export class BannedError extends RegistrarError { readonly code = "banned"; readonly status = 403; }

/** The detail of a failed proof: where, a stable reason (docs/trust.md), and a text without internal addresses. */
export type VerificationDetail = ErrorDetail & { reason: ProofFailureReason | "no_challenge" };

export class VerificationFailedError extends RegistrarError {
  readonly code = "verification_failed";
  readonly status = 422;
  constructor(message: string, detail: VerificationDetail) {
    super(message);
    this.details = [detail];
  }
}
