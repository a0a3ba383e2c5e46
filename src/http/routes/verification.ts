// Proof of domain control and recovery routes (contract §8.1, §8.2): challenges, the document check, a new token.
import { AUTH_MESSAGES, NotFoundError, UnauthorizedError, ValidationError } from "../../core/errors.js";
import { generateToken, hashToken, tokenHashOf } from "../../core/tokens.js";
import type { RateLimiter } from "../../security/rate-limit.js";
import { parseBearer } from "../../security/tokens.js";
import type { ProofService } from "../../trust/proof-service.js";
import type { RequestContext } from "../context.js";
import { TOKEN_REPLY_HEADERS } from "../respond.js";
import type { RouteSpec } from "../router.js";
import { requestDomain } from "./params.js";
import { Challenge, ServerWithToken, VerificationDone } from "../openapi/responses.js";
import { DomainParam, NoFields } from "../openapi/params.js";

export type VerificationRouteDeps = {
  proofs: ProofService;
  /** RATE_LIMIT_RECOVERY, per client IP, on both recovery routes. */
  recoveryLimit: RateLimiter | null;
  /** RATE_LIMIT_WRITE, per domain, on all four routes (contract §10). */
  writeLimit: RateLimiter | null;
};

const iso = (ms: number) => new Date(ms).toISOString();

/** These routes take no body fields: nothing, or `{}`. */
function noFields(body: unknown): void {
  if (body !== undefined && (typeof body !== "object" || body === null || Array.isArray(body) || Object.keys(body).length > 0)) {
    throw new ValidationError("this route takes no body fields", [{ path: "", message: "expected no body or {}" }]);
  }
}

function domainOf(ctx: RequestContext, auth: boolean): string {
  const domain = requestDomain(ctx);
  if (domain) return domain;
  if (auth) throw new UnauthorizedError(AUTH_MESSAGES.unauthorized);
  throw new NotFoundError("that domain is not registered");
}

export function verificationRoutes(d: VerificationRouteDeps): RouteSpec[] {
  return [
    {
      path: "/servers/:domain/verification",
      methods: {
        POST: {
          body: true,
          perDomain: d.writeLimit,
          doc: {
            summary: "Ask for a proof-of-control challenge", auth: ["server_token"], params: DomainParam, body: NoFields, bodyOptional: true,
            responses: { 200: Challenge }, errors: ["validation_failed", "unauthorized", "token_expired", "not_owner"],
          },
          handler: async (ctx, body) => {
            noFields(body);
            const domain = domainOf(ctx, true);
            return { status: 200, body: await d.proofs.requestVerification(domain, tokenHashOf(parseBearer(ctx.authorization))) };
          },
        },
      },
    },
    {
      path: "/servers/:domain/verification/check",
      methods: {
        POST: {
          body: true,
          perDomain: d.writeLimit,
          doc: {
            summary: "Fetch the domain's document now and check the challenge", auth: ["server_token"], params: DomainParam, body: NoFields, bodyOptional: true,
            responses: { 200: VerificationDone }, errors: ["validation_failed", "unauthorized", "token_expired", "not_owner", "verification_failed"],
          },
          handler: async (ctx, body) => {
            noFields(body);
            const domain = domainOf(ctx, true);
            const r = await d.proofs.checkVerification(domain, tokenHashOf(parseBearer(ctx.authorization)), { kind: "domain", id: domain });
            return { status: 200, body: r };
          },
        },
      },
    },
    {
      path: "/servers/:domain/recovery",
      methods: {
        POST: {
          body: true,
          perDomain: d.writeLimit,
          limiter: d.recoveryLimit,
          doc: {
            summary: "Ask for a recovery challenge (lost token)", params: DomainParam, body: NoFields, bodyOptional: true,
            responses: { 200: Challenge }, errors: ["validation_failed", "not_found", "not_owner", "banned"],
          },
          handler: async (ctx, body) => {
            noFields(body);
            return { status: 200, body: await d.proofs.requestRecovery(domainOf(ctx, false)) };
          },
        },
      },
    },
    {
      path: "/servers/:domain/recovery/complete",
      methods: {
        POST: {
          body: true,
          perDomain: d.writeLimit,
          limiter: d.recoveryLimit,
          doc: {
            summary: "Complete recovery: a new token once the document shows the challenge", params: DomainParam, body: NoFields, bodyOptional: true,
            responses: { 200: ServerWithToken }, errors: ["validation_failed", "not_found", "not_owner", "banned", "verification_failed"],
          },
          handler: async (ctx, body) => {
            noFields(body);
            const domain = domainOf(ctx, false);
            const token = generateToken();
            const r = await d.proofs.completeRecovery(domain, hashToken(token).toString("hex"), { kind: "ip", id: ctx.ip });
            return { status: 200, raw: `{"server":${r.recordJson},"token":"${token}","token_expires_at":"${iso(r.tokenExpiresMs)}"}`, headers: TOKEN_REPLY_HEADERS };
          },
        },
      },
    },
  ];
}
