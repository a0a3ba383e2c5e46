// Legacy error bodies (contract §7): `{"error":"<human text>"}`, a string with no code, the same statuses as /v1;
// the 401 texts are the PHP registrar's own, and a validation error names the legacy field.
import { NotFoundError, RegistrarError, UnauthorizedError, type ErrorDetail } from "../../core/errors.js";
import { legacyDetails } from "./requests.js";

// Texts the PHP registrar's clients may match on; the rest say the same as the /v1 code in words.
const TEXT: Record<string, string> = {
  invalid_json: "Invalid JSON",
  unauthorized: "Invalid token",
  token_expired: "Token expired",
  not_owner: "This server belongs to another registrar",
  not_found: "Server not found",
  method_not_allowed: "Not found",
  domain_taken: "Server already registered",
  payload_too_large: "Payload too large",
  unsupported_media_type: "Unsupported media type",
  rate_limited: "Too many requests",
  unavailable: "Service unavailable",
  banned: "Domain banned",
  invalid_assertion: "Invalid assertion",
  verification_failed: "Verification failed",
};

export const MISSING_AUTHORIZATION = "Missing authorization";
export const NO_FIELDS = "No fields to update";

/** An error whose legacy text is not its code's usual one (the edge decides, e.g. "Missing authorization"). */
const LEGACY_TEXT = Symbol("legacyText");
type WithText = RegistrarError & { [LEGACY_TEXT]?: string };

export function withLegacyText<E extends RegistrarError>(err: E, text: string): E {
  (err as WithText)[LEGACY_TEXT] = text;
  return err;
}

/** No Bearer header at all (contract §7: `Missing authorization`, as opposed to `Invalid token`). */
export function missingAuthorization(): UnauthorizedError {
  return withLegacyText(new UnauthorizedError("no bearer token"), MISSING_AUTHORIZATION);
}

/** A known legacy path with a wrong method, or an unknown one under it: 404 `Not found`. */
export function legacyNotFound(): NotFoundError {
  return withLegacyText(new NotFoundError("not found"), "Not found");
}

/** One line naming every field at fault: `Invalid apiUrl: must be an https URL on the server's domain`. */
export function legacyValidationText(details: ErrorDetail[]): string {
  if (details.length === 0) return "Invalid request";
  return legacyDetails(details)
    .map((d) => (d.path ? `Invalid ${d.path}: ${d.message}` : `Invalid request: ${d.message}`))
    .join("; ");
}

/** The legacy text for a contract error. */
export function legacyErrorText(err: RegistrarError): string {
  const own = (err as WithText)[LEGACY_TEXT];
  if (own !== undefined) return own;
  if (err.code === "validation_failed") return legacyValidationText(err.details ?? []);
  return TEXT[err.code] ?? err.message;
}

export function legacyErrorBody(err: RegistrarError): string {
  return JSON.stringify({ error: legacyErrorText(err) });
}

/** The /v1 twin of a legacy URL, under the same prefix, for the `Link: <…>; rel="successor-version"` header. */
export function successorUrl(url: string, prefix: string): string {
  const path = prefix && url.startsWith(`${prefix}/`) ? url.slice(prefix.length) : url;
  const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  return `${prefix}/v1${trimmed}`;
}
