// Request body of `POST /v1/servers/:domain/webhooks`, built per URL policy (ALLOW_INSECURE_URLS).
import { z } from "zod";
import { checkUrl } from "../domain/urls.js";

/**
 * Event types a webhook can subscribe to. `server.registered` happens before a webhook can exist and
 * `server.removed` deletes the server's webhooks with it, so neither is ever delivered.
 */
export const WEBHOOK_EVENT_TYPES = ["server.updated", "server.status", "rating.created"] as const;

export function makeWebhookSchemas(opts: { allowInsecureUrls: boolean }) {
  const RegisterWebhook = z.strictObject({
    url: z.string().superRefine((value, ctx) => {
      const problem = checkUrl(value, { schemes: ["https:"], allowInsecure: opts.allowInsecureUrls });
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    }),
    // Absent or null: every deliverable event type about the server.
    events: z
      .array(z.enum(WEBHOOK_EVENT_TYPES, { error: `must be one of ${WEBHOOK_EVENT_TYPES.join(", ")}` }))
      .min(1, { error: "must list at least one event type (omit it for all)" })
      .refine((a) => new Set(a).size === a.length, { error: "must not repeat an event type" })
      .nullable()
      .optional(),
  });
  return { RegisterWebhook };
}
export type RegisterWebhook = z.output<ReturnType<typeof makeWebhookSchemas>["RegisterWebhook"]>;
