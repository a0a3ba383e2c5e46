// Rating routes: submit or replace one rating per (server, user_id), and list ratings newest first.
import type { EventSink } from "../../../actors/ports.js";
import type { Directory } from "../../directory/directory.js";
import { SORT_FIELD } from "../../core/record.js";
import { PageQuery, RateServer } from "../../domain/schemas.js";
import { NotFoundError, NotOwnerError } from "../../core/errors.js";
import type { RateLimiter } from "../../security/rate-limit.js";
import type { RatingsRepo } from "../../store/ratings-repo.js";
import type { RequestContext } from "../context.js";
import type { RouteSpec } from "../router.js";
import { parseOrThrow, pathDomain, queryParams } from "./params.js";

export type RatingRouteDeps = {
  directory: Directory;
  ratings: RatingsRepo;
  events: EventSink;
  registrarId: string;
  limit: RateLimiter | null;
};

/**
 * Submits (or replaces) one rating and brings the directory's summary along: the one rating operation, shared by
 * /v1 and the legacy route (contract §7: one set of rules, two wire formats). `body` is in /v1 shape.
 */
export function ratingSubmitter(d: RatingRouteDeps) {
  return async (ctx: RequestContext, body: unknown) => {
    const rec = knownDomain(d, ctx.params[0]);
    if (rec.origin !== d.registrarId) throw new NotOwnerError(`${rec.domain} belongs to registrar ${rec.origin}; rate it there`);
    const input = parseOrThrow(RateServer, body);
    const w = await d.ratings.rate(rec.domain, { user_id: input.user_id, rating: input.rating, comment: input.comment ?? undefined }, { kind: "ip", id: ctx.ip });
    d.directory.update(rec, SORT_FIELD.rating, false, () => {
      rec.ratingCount = w.count;
      rec.ratingSum = w.sum;
    });
    d.events.publish(w.event);
    return w;
  };
}

function knownDomain(d: RatingRouteDeps, raw: string) {
  const domain = pathDomain(raw);
  const rec = domain ? d.directory.get(domain) : undefined;
  if (!rec) throw new NotFoundError(`${domain ?? "that domain"} is not registered`);
  return rec;
}

export function ratingRoutes(d: RatingRouteDeps): RouteSpec[] {
  const known = (raw: string) => knownDomain(d, raw);
  const submit = ratingSubmitter(d);
  return [
    {
      path: "/servers/:domain/rate",
      methods: {
        POST: {
          body: true,
          limiter: d.limit,
          handler: async (ctx, body) => {
            const w = await submit(ctx, body);
            return { status: w.created ? 201 : 200, body: { rating: w.rating } };
          },
        },
      },
    },
    {
      path: "/servers/:domain/ratings",
      methods: {
        GET: {
          handler: async (ctx) => {
            const rec = known(ctx.params[0]);
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
