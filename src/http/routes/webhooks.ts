// Webhook routes (issue 4): a server registers, lists and deletes its webhooks and reads their recent deliveries.
import { PageQuery } from "../../domain/schemas.js";
import { NotOwnerError, ValidationError } from "../../core/errors.js";
import type { RateLimiter } from "../../security/rate-limit.js";
import { parseBearer } from "../../security/tokens.js";
import type { Db } from "../../store/db.js";
import { authenticateOwner } from "../../webhooks/auth.js";
import { makeWebhookSchemas } from "../../webhooks/schemas.js";
import { resolveTarget, TargetRefusedError, type LookupAll } from "../../webhooks/ssrf.js";
import type { WebhooksRepo } from "../../webhooks/webhooks-repo.js";
import type { RequestContext } from "../context.js";
import type { RouteSpec } from "../router.js";
import { parseOrThrow, requestDomain, queryParams } from "./params.js";
import { DeliveryPage, WebhookCreated, WebhookList } from "../openapi/responses.js";
import { DomainParam } from "../openapi/params.js";
import type { ErrorCode } from "../../core/errors.js";
import { z } from "zod";

export type WebhookRouteDeps = {
  db: Db;
  webhooks: WebhooksRepo;
  registrarId: string;
  allowInsecureUrls: boolean;
  allowPrivateWebhooks: boolean;
  lookup?: LookupAll;
  /** The origin of the listed record, if any: mirrored records live outside `servers` (contract §6: 403). */
  listedOrigin?: (domain: string) => string | undefined;
  /** RATE_LIMIT_WRITE, per domain, on every webhook route (contract §10): each one checks the token in MySQL. */
  writeLimit: RateLimiter | null;
};

const WEBHOOK_ID = /^wh_[0-9a-f]{24}$/;
const OWNER_ERRORS: ErrorCode[] = ["unauthorized", "token_expired", "not_owner"];
const WebhookParams = { ...DomainParam, id: z.string().meta({ description: "wh_ and 24 hex digits; anything else is an unknown id (404)" }) };

export function webhookRoutes(d: WebhookRouteDeps): RouteSpec[] {
  const { RegisterWebhook } = makeWebhookSchemas({ allowInsecureUrls: d.allowInsecureUrls });
  const owner = async (ctx: RequestContext): Promise<string> => {
    const domain = requestDomain(ctx);
    const origin = domain ? d.listedOrigin?.(domain) : undefined;
    if (origin !== undefined && origin !== d.registrarId) throw new NotOwnerError(`${domain} belongs to registrar ${origin}; manage its webhooks there`);
    await authenticateOwner(d.db, d.registrarId, domain, parseBearer(ctx.authorization));
    return domain!;
  };
  // Ids of another shape cannot exist: answer like an unknown id without asking MySQL.
  const webhookId = (raw: string) => (WEBHOOK_ID.test(raw) ? raw : "wh_");
  return [
    {
      path: "/servers/:domain/webhooks",
      methods: {
        POST: {
          perDomain: d.writeLimit,
          body: true,
          doc: {
            summary: "Register a webhook", auth: ["server_token"], params: DomainParam, body: RegisterWebhook,
            responses: { 201: WebhookCreated }, errors: ["validation_failed", ...OWNER_ERRORS],
          },
          handler: async (ctx, body) => {
            const domain = await owner(ctx);
            const input = parseOrThrow(RegisterWebhook, body);
            try {
              await resolveTarget(new URL(input.url).hostname, { allowPrivate: d.allowPrivateWebhooks, lookup: d.lookup });
            } catch (err) {
              if (!(err instanceof TargetRefusedError)) throw err;
              throw new ValidationError("webhook URL is not a public address", [{ path: "url", message: err.message }]);
            }
            const created = await d.webhooks.create(domain, input.url, input.events ?? null);
            return { status: 201, body: created };
          },
        },
        GET: {
          perDomain: d.writeLimit,
          doc: { summary: "List the server's webhooks", auth: ["server_token"], params: DomainParam, responses: { 200: WebhookList }, errors: OWNER_ERRORS },
          handler: async (ctx) => {
            const domain = await owner(ctx);
            return { status: 200, body: { webhooks: await d.webhooks.list(domain) } };
          },
        },
      },
    },
    {
      path: "/servers/:domain/webhooks/:id",
      methods: {
        DELETE: {
          perDomain: d.writeLimit,
          doc: { summary: "Delete a webhook", auth: ["server_token"], params: WebhookParams, responses: { 204: null }, errors: [...OWNER_ERRORS, "not_found"] },
          handler: async (ctx) => {
            const domain = await owner(ctx);
            await d.webhooks.remove(domain, webhookId(ctx.params[1]));
            return { status: 204 };
          },
        },
      },
    },
    {
      path: "/servers/:domain/webhooks/:id/deliveries",
      methods: {
        GET: {
          perDomain: d.writeLimit,
          doc: {
            summary: "A webhook's recent deliveries, newest first", auth: ["server_token"], params: WebhookParams, query: PageQuery,
            responses: { 200: DeliveryPage }, errors: ["validation_failed", ...OWNER_ERRORS, "not_found"],
          },
          handler: async (ctx) => {
            const domain = await owner(ctx);
            const page = parseOrThrow(PageQuery, queryParams(ctx.query));
            const deliveries = await d.webhooks.deliveries(domain, webhookId(ctx.params[1]), page.limit, page.offset);
            return { status: 200, body: { deliveries, limit: page.limit, offset: page.offset } };
          },
        },
      },
    },
  ];
}
