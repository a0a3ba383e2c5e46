// GET /v1/servers/:domain/uptime (contract §9.2): the daily online ratio from the rollup, oldest day first.
import { z } from "zod";
import { NotFoundError } from "../../core/errors.js";
import { utcDay, windowStartMs } from "../../core/uptime-days.js";
import { DAY_MS } from "../../core/units.js";
import type { Directory } from "../../directory/directory.js";
import { integerParam } from "../../domain/query-schemas.js";
import type { Uptime, UptimeRepo } from "../../store/uptime-repo.js";
import type { RouteSpec } from "../router.js";
import { parseOrThrow, requestDomain, queryParams } from "./params.js";
import { Uptime as UptimeReply } from "../openapi/responses.js";
import { DomainParam } from "../openapi/params.js";

export const UptimeQuery = z.object({ days: integerParam(1, 365, 30) });

/** Every day null: a record this registrar keeps no rollup for (mirrored from a peer). */
export function unknownUptime(days: number, nowMs: number): Uptime {
  const from = windowStartMs(nowMs, days);
  return { days: Array.from({ length: days }, (_, i) => ({ date: utcDay(from + i * DAY_MS), online_ratio: null })), ratio: null };
}

export function uptimeRoutes(d: { directory: Directory; repo: UptimeRepo; registrarId: string }): RouteSpec[] {
  return [
    {
      path: "/servers/:domain/uptime",
      methods: {
        GET: {
          doc: { summary: "A server's daily online ratio, oldest day first", params: DomainParam, query: UptimeQuery, responses: { 200: UptimeReply }, errors: ["validation_failed", "not_found"] },
          handler: async (ctx) => {
            const domain = requestDomain(ctx);
            const rec = domain ? d.directory.get(domain) : undefined;
            if (!rec) throw new NotFoundError(`${domain ?? "that domain"} is not registered`);
            const { days } = parseOrThrow(UptimeQuery, queryParams(ctx.query));
            const nowMs = Date.now();
            const up = rec.origin === d.registrarId ? await d.repo.read(rec.domain, days, nowMs) : null;
            const out = up ?? unknownUptime(days, nowMs);
            return { status: 200, body: { domain: rec.domain, days: out.days, ratio: out.ratio } };
          },
        },
      },
    },
  ];
}
