// Path and query helpers shared by the route files: domain from the path, zod parsing into contract errors.
import type { z } from "zod";
import { normalizeDomain } from "../../domain/domain-name.js";
import { zodIssuesToDetails } from "../../domain/schemas.js";
import { ValidationError } from "../../core/errors.js";
import type { RequestContext } from "../context.js";

/** The :domain path parameter, percent-decoded and normalised (case, IDN); null when it cannot be a domain. */
export function pathDomain(raw: string): string | null {
  let text: string;
  try {
    text = decodeURIComponent(raw);
  } catch {
    return null;
  }
  return normalizeDomain(text);
}

/**
 * The request's :domain parameter (its first), parsed once per request: the per-domain rate limit and the handler
 * both need it on every heartbeat.
 */
export function requestDomain(ctx: RequestContext): string | null {
  if (ctx.domain === undefined) ctx.domain = pathDomain(ctx.params[0]);
  return ctx.domain;
}

export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new ValidationError("request does not match the schema", zodIssuesToDetails(result.error));
  return result.data;
}

export function queryParams(query: string): Record<string, string> {
  const out: Record<string, string> = {};
  // The first occurrence wins, so `limit=1&limit=999` cannot smuggle a second value past validation.
  for (const [k, v] of new URLSearchParams(query)) if (!(k in out)) out[k] = v;
  return out;
}
