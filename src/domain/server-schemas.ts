// Registration and update bodies for a server record (contract §2 field rules), built per URL policy.
import { z } from "zod";
import { normalizeDomain } from "./domain-name.js";
import { checkUrl } from "./urls.js";
import { multiLineText, singleLineText, tokenList, trimmedName } from "./text.js";
import { LanguageList, Registration } from "./directory-fields.js";

export interface ServerSchemaOptions {
  /** ALLOW_INSECURE_URLS (development only). */
  allowInsecureUrls: boolean;
}

/** The fields an update may set; the rest of the record is server-owned or immutable. */
export const MUTABLE_SERVER_FIELDS = [
  "name", "description", "icon", "api_url", "ws_url", "voice_url",
  "voice_provider", "cdn_url", "version", "protocols", "capabilities", "web_url", "languages", "registration",
] as const;

const DOMAIN_MESSAGE =
  "must be a domain name: labels of a-z 0-9 and inner hyphens, at least two labels, " +
  "at most 253 characters, no IP address, no trailing dot";

/** A domain name, output in its canonical form (lower case, punycode). */
export const DomainName = z.string().transform((value, ctx) => {
  const domain = normalizeDomain(value);
  if (domain === null) {
    ctx.issues.push({ code: "custom", message: DOMAIN_MESSAGE, input: value });
    return z.NEVER;
  }
  return domain;
});

// Server-owned fields are named in the schema (rather than left to "unknown field") so the client learns why.
function serverOwned(message = "server-owned field, cannot be set") {
  return z.never({ error: message }).optional();
}
const ServerOwnedFields = {
  user_count: serverOwned("server-owned field, set only through heartbeats"),
  channel_count: serverOwned("server-owned field, set only through heartbeats"),
  verified: serverOwned(),
  verified_at: serverOwned("server-owned field, set only by a proof of domain control (contract §8.1)"),
  status: serverOwned(),
  last_seen: serverOwned(),
  created_at: serverOwned(),
  origin: serverOwned(),
  rating: serverOwned(),
  uptime_30d: serverOwned("server-owned field, computed from status transitions (contract §9.2)"),
  token: serverOwned(),
};
type ServerOwnedField = keyof typeof ServerOwnedFields;

export function makeServerSchemas(opts: ServerSchemaOptions) {
  const allowInsecure = opts.allowInsecureUrls;
  // icon, voice_url, cdn_url: https on any host. api_url/ws_url are plain strings here because their host
  // rule needs the domain: the object-level refinement checks them.
  const anyHostUrl = z.string().superRefine((value, ctx) => {
    const problem = checkUrl(value, { schemes: ["https:"], allowInsecure });
    if (problem !== null) ctx.addIssue({ code: "custom", message: problem, input: value });
  });
  const description = multiLineText(1000);
  const voiceProvider = singleLineText(50);
  const version = singleLineText(32);

  const RegisterServer = z
    .strictObject({
      domain: DomainName,
      name: trimmedName(100),
      api_url: z.string(),
      ws_url: z.string().optional(),
      description: description.optional(),
      icon: anyHostUrl.optional(),
      voice_url: anyHostUrl.optional(),
      voice_provider: voiceProvider.optional(),
      cdn_url: anyHostUrl.optional(),
      version: version.optional(),
      protocols: tokenList(16).optional(),
      capabilities: tokenList(32).optional(),
      web_url: z.string().optional(),
      languages: LanguageList.optional(),
      registration: Registration.optional(),
      ...ServerOwnedFields,
    })
    .superRefine(
      (value, ctx) => {
        const raw = value as Record<string, unknown>;
        const domain = typeof raw.domain === "string" ? normalizeDomain(raw.domain) : null;
        for (const issue of domainBoundUrlIssues(raw, domain, allowInsecure)) ctx.addIssue(issue);
      },
      { when: isObjectPayload },
    )
    .transform(omitServerOwned);

  // null clears an optional field in an update (`"ws_url": null` removes the WebSocket URL); absent keeps it.
  // name, api_url, protocols and capabilities cannot be null: the first two are required, lists clear with [].
  const UpdateBody = z
    .strictObject({
      domain: DomainName.optional(),
      name: trimmedName(100).optional(),
      api_url: z.string().optional(),
      ws_url: z.string().nullable().optional(),
      description: description.nullable().optional(),
      icon: anyHostUrl.nullable().optional(),
      voice_url: anyHostUrl.nullable().optional(),
      voice_provider: voiceProvider.nullable().optional(),
      cdn_url: anyHostUrl.nullable().optional(),
      version: version.nullable().optional(),
      protocols: tokenList(16).optional(),
      capabilities: tokenList(32).optional(),
      web_url: z.string().nullable().optional(),
      languages: LanguageList.optional(),
      registration: Registration.nullable().optional(),
      ...ServerOwnedFields,
    })
    .superRefine(
      (value, ctx) => {
        const raw = value as Record<string, unknown>;
        if (!MUTABLE_SERVER_FIELDS.some((field) => raw[field] !== undefined)) {
          ctx.addIssue({ code: "custom", path: [], message: "at least one field besides domain must be given", input: raw });
        }
      },
      { when: isObjectPayload },
    );

  /**
   * The update body for the server at `pathDomain` (the route's `:domain`). The static UpdateBody does the
   * parsing; this thin wrapper adds the checks that need the path domain, so no object schema is rebuilt
   * (and re-compiled by zod) per request.
   */
  function UpdateServer(pathDomain: string) {
    const domain = normalizeDomain(pathDomain) ?? pathDomain;
    return z.unknown().transform((input, ctx) => {
      const parsed = UpdateBody.safeParse(input);
      const issues = [...(parsed.error?.issues ?? []), ...pathDomainIssues(input, domain, allowInsecure)];
      if (!parsed.success || issues.length > 0) {
        for (const issue of issues) ctx.issues.push({ ...issue, input } as z.core.$ZodRawIssue);
        return z.NEVER;
      }
      return omitServerOwned(parsed.data);
    });
  }

  return { RegisterServer, UpdateServer, /** The update body as documented (UpdateServer adds the path-domain checks). */ UpdateBody };
}

export type ServerSchemas = ReturnType<typeof makeServerSchemas>;
export type RegisterServer = z.output<ServerSchemas["RegisterServer"]>;
export type UpdateServer = z.output<ReturnType<ServerSchemas["UpdateServer"]>>;

type CustomIssue = { code: "custom"; path: string[]; message: string; input: unknown };

function omitServerOwned<T extends object>(value: T): Omit<T, ServerOwnedField> {
  const copy = { ...value } as Record<string, unknown>;
  for (const key of Object.keys(ServerOwnedFields)) delete copy[key];
  return copy as Omit<T, ServerOwnedField>;
}

// Refinements also run when other fields failed (so one response lists every problem); the payload may then
// hold anything, hence the type checks on `raw` values.
function isObjectPayload(payload: { value: unknown }): boolean {
  const value = payload.value;
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function pathDomainIssues(input: unknown, domain: string, allowInsecure: boolean): CustomIssue[] {
  if (!isObjectPayload({ value: input })) return [];
  const raw = input as Record<string, unknown>;
  const issues = domainBoundUrlIssues(raw, domain, allowInsecure);
  // contract §2: in an update, `domain` cannot change.
  if (typeof raw.domain === "string" && normalizeDomain(raw.domain) !== domain) {
    issues.unshift({ code: "custom", path: ["domain"], message: "domain cannot be changed", input: raw.domain });
  }
  return issues;
}

// api_url, ws_url and web_url (§9.2) must live under the server's own domain (contract §2); without a valid domain only
// their scheme and shape can be checked, and the domain error is reported on its own.
function domainBoundUrlIssues(
  raw: Record<string, unknown>,
  domain: string | null,
  allowInsecure: boolean,
): CustomIssue[] {
  const rules: Array<[field: string, scheme: string]> = [["api_url", "https:"], ["ws_url", "wss:"], ["web_url", "https:"]];
  const issues: CustomIssue[] = [];
  for (const [field, scheme] of rules) {
    const value = raw[field];
    if (typeof value !== "string") continue;
    const problem = checkUrl(value, { schemes: [scheme], mustBeUnder: domain ?? undefined, allowInsecure });
    if (problem !== null) issues.push({ code: "custom", path: [field], message: problem, input: value });
  }
  return issues;
}
