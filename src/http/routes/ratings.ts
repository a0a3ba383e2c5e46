// Rating routes: rate a server as a proved identity (contract §8.4, rules in src/trust/rating-service.ts), and list
// its ratings newest first with each rater's identity and `verified`. The legacy route submits through the same code.
import type { Directory } from "../../directory/directory.js";
import { PageQuery } from "../../domain/schemas.js";
import { NotFoundError } from "../../core/errors.js";
import type { RateLimiter } from "../../security/rate-limit.js";
import { parseBearer } from "../../security/tokens.js";
import type { RatingsRepo } from "../../store/ratings-repo.js";
import type { RatingService } from "../../trust/rating-service.js";
import { claimOf, rateBody } from "../../trust/rating-claim.js";
import type { RequestContext } from "../context.js";
import type { RouteSpec } from "../router.js";
import { parseOrThrow, pathDomain, queryParams } from "./params.js";
import { RatingReply, RatingPage } from "../openapi/responses.js";
import { DomainParam } from "../openapi/params.js";
import { RateBody } from "../../trust/rating-claim.js";

export type RatingRouteDeps = {
  directory: Directory;
  ratings: RatingsRepo;
  service: RatingService;
  limit: RateLimiter | null;
};

function knownDomain(directory: Directory, raw: string) {
  const domain = pathDomain(raw);
  const rec = domain ? directory.get(domain) : undefined;
  if (!rec) throw new NotFoundError(`${domain ?? "that domain"} is not registered`);
  return rec;
}

/**
 * Submits (or replaces) one rating: the one rating operation, shared by /v1 and the legacy route (contract §7: one
 * set of rules, two wire formats). `body` is in /v1 shape; the rater's identity comes from it and the Bearer token.
 * `homeUserIdChars`: 64 on /v1 (§8.4), 128 for the legacy `userId` (§7).
 */
export function ratingSubmitter(d: Pick<RatingRouteDeps, "directory" | "service">, homeUserIdChars = 64) {
  const Body = rateBody(homeUserIdChars);
  return async (ctx: RequestContext, body: unknown) => {
    const rec = d.service.rated(knownDomain(d.directory, ctx.params[0]).domain);
    const input = parseOrThrow(Body, body);
    const claim = claimOf(input, parseBearer(ctx.authorization));
    return d.service.rate(rec.domain, claim, { rating: input.rating, comment: input.comment }, ctx.ip);
  };
}

export function ratingRoutes(d: RatingRouteDeps): RouteSpec[] {
  const submit = ratingSubmitter(d);
  return [
    {
      path: "/servers/:domain/rate",
      methods: {
        POST: {
          body: true,
          limiter: d.limit,
          doc: {
            summary: "Rate a server (one rating per rater identity; 201 new, 200 replaced)",
            description: "The rater's identity (contract §8.4): an `assertion`, or `from_domain` and `user_id` with that home server's Bearer token, or (where anonymous ratings are allowed) a bare `user_id`.",
            auth: ["server_token"], authOptional: true, params: DomainParam, body: RateBody, responses: { 201: RatingReply, 200: RatingReply },
            errors: ["validation_failed", "not_found", "not_owner", "unauthorized", "token_expired", "invalid_assertion", "rate_limited"],
          },
          handler: async (ctx, body) => {
            const r = await submit(ctx, body);
            return { status: r.created ? 201 : 200, body: { rating: r.rating } };
          },
        },
      },
    },
    {
      path: "/servers/:domain/ratings",
      methods: {
        GET: {
          doc: { summary: "A server's ratings, newest first", params: DomainParam, query: PageQuery, responses: { 200: RatingPage }, errors: ["validation_failed", "not_found"] },
          handler: async (ctx) => {
            const rec = knownDomain(d.directory, ctx.params[0]);
            const page = parseOrThrow(PageQuery, queryParams(ctx.query));
            const ratings = await d.ratings.page(rec.domain, page.limit, page.offset);
            return {
              status: 200,
              body: { average: rec.ratingAverage(), count: rec.ratingCount, ratings, limit: page.limit, offset: page.offset },
            };
          },
        },
      },
    },
  ];
}
