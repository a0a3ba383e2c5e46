// The key directory and identity routes (contract §8.3): a verified domain's keys signed by this registrar, the
// registrar's own keys, and the assertion check for servers that do not verify assertions themselves.
import { z } from "zod";
import { NotFoundError } from "../../core/errors.js";
import type { AssertionVerifier } from "../../trust/assertion-verifier.js";
import type { IssuerKeys } from "../../trust/issuer-keys.js";
import type { RegistrarSigner } from "../../trust/registrar-signer.js";
import { MAX_ASSERTION_CHARS } from "../../../client/identity.js";
import type { ServerRecord } from "../../core/record.js";
import type { RouteSpec } from "../router.js";
import { parseOrThrow, requestDomain } from "./params.js";
import { DomainKeys, RegistrarKeys, VerifiedIdentity } from "../openapi/responses.js";
import { DomainParam } from "../openapi/params.js";

export type KeyRouteDeps = {
  listed(domain: string): ServerRecord | undefined;
  issuerKeys: IssuerKeys;
  signer: RegistrarSigner;
  assertions: AssertionVerifier;
};

const VerifyBody = z.strictObject({ assertion: z.string().min(1).max(MAX_ASSERTION_CHARS) });

export function keyRoutes(d: KeyRouteDeps): RouteSpec[] {
  return [
    {
      path: "/servers/:domain/keys",
      methods: {
        GET: {
          doc: {
            summary: "A verified domain's identity keys, signed by this registrar", params: DomainParam, responses: { 200: DomainKeys },
            responseHeaders: { "Zent-Signature": "This registrar's signature over the exact body bytes (contract §8.3)." }, errors: ["not_found"],
          },
          handler: async (ctx) => {
            const domain = requestDomain(ctx);
            const rec = domain ? d.listed(domain) : undefined;
            // 404 unless verified here and keys were fetched (an operator's `verified` without a document has none).
            const stored = rec?.verified ? await d.issuerKeys.stored(rec.domain) : null;
            if (!rec || !stored) throw new NotFoundError(`${domain ?? "that domain"} is not a verified domain here`);
            const body = Buffer.from(JSON.stringify({
              domain: rec.domain,
              verified_at: rec.verifiedAtMs ? new Date(rec.verifiedAtMs).toISOString() : null,
              fetched_at: new Date(stored.fetchedAtMs).toISOString(),
              keys: stored.keys,
            }));
            // The signature covers these exact bytes: a relayed answer cannot be altered (§8.3).
            return { status: 200, bytes: body, headers: [["Zent-Signature", d.signer.signatureHeader(body)], ["Cache-Control", "no-cache"]] };
          },
        },
      },
    },
    {
      path: "/.well-known/zent-registrar",
      bare: true,
      methods: {
        GET: {
          doc: { summary: "This registrar's own public keys", tag: "identity", responses: { 200: RegistrarKeys }, errors: [] },
          handler: () => ({ status: 200, bytes: d.signer.wellKnownBody() }),
        },
      },
    },
    {
      path: "/identity/verify",
      methods: {
        POST: {
          body: true,
          doc: { summary: "Check an identity assertion", body: VerifyBody, responses: { 200: VerifiedIdentity }, errors: ["validation_failed", "invalid_assertion"] },
          handler: async (_ctx, body) => {
            const { assertion } = parseOrThrow(VerifyBody, body);
            const who = await d.assertions.verify(assertion);
            return { status: 200, body: { identity: who.identity, iss: who.iss, sub: who.sub, exp: who.exp } };
          },
        },
      },
    },
  ];
}
