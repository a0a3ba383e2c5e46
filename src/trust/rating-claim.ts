// Who a rating says it comes from (contract §8.4): the request body and header read into one of three claims.
import { z } from "zod";
import { DomainName } from "../domain/server-schemas.js";
import { multiLineText, singleLineText } from "../domain/text.js";
import { MAX_ASSERTION_CHARS } from "../../client/identity.js";

const Stars = z.int().min(1, { error: "must be an integer 1–5" }).max(5, { error: "must be an integer 1–5" });

/**
 * Body of `POST /v1/servers/:domain/rate` (and of the legacy route, renamed to /v1 keys). With `from_domain` the
 * `user_id` is at most `homeUserIdChars` long: 64 on /v1 (§8.4), 128 through the legacy `userId` (§7). An anonymous
 * `user_id` may not contain `@`: that is the form of a proved identity, and an unproved rating must not look like one.
 */
export function rateBody(homeUserIdChars: number) {
  return z
    .strictObject({
      rating: Stars,
      comment: multiLineText(500).nullable().optional(),
      assertion: z.string().min(1).max(MAX_ASSERTION_CHARS).optional(),
      from_domain: DomainName.optional(),
      user_id: singleLineText(128, 1).optional(),
    })
    .superRefine((b, ctx) => {
      if (b.assertion !== undefined && (b.from_domain !== undefined || b.user_id !== undefined)) {
        ctx.addIssue({ code: "custom", path: ["assertion"], message: "give either an assertion or from_domain and user_id, not both" });
      }
      if (b.from_domain !== undefined && b.user_id === undefined) ctx.addIssue({ code: "custom", path: ["user_id"], message: "required with from_domain" });
      if (b.from_domain !== undefined && b.user_id !== undefined && [...b.user_id].length > homeUserIdChars) {
        ctx.addIssue({ code: "custom", path: ["user_id"], message: `must be 1–${homeUserIdChars} characters` });
      }
      if (b.from_domain === undefined && b.user_id?.includes("@")) {
        ctx.addIssue({ code: "custom", path: ["user_id"], message: "must not contain @ without from_domain (that is the form of a proved identity)" });
      }
    });
}

export const RateBody = rateBody(64);
export type RateBody = z.output<typeof RateBody>;

export type RaterClaim =
  | { kind: "assertion"; assertion: string }
  /** The home server vouches with its own token (also the legacy `fromDomain`/`userId` route). */
  | { kind: "token"; homeDomain: string; userId: string; token: string | null }
  | { kind: "anonymous"; userId: string }
  | { kind: "none" };

/** The claim a v1 body makes; `token` is the Bearer value, if any. */
export function claimOf(body: RateBody, token: string | null): RaterClaim {
  if (body.assertion !== undefined) return { kind: "assertion", assertion: body.assertion };
  if (body.from_domain !== undefined) return { kind: "token", homeDomain: body.from_domain, userId: body.user_id!, token };
  if (body.user_id !== undefined) return { kind: "anonymous", userId: body.user_id };
  return { kind: "none" };
}
