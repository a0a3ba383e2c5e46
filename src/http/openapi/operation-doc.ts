// What a /v1 route documents about itself for the OpenAPI document (src/http/openapi/document.ts): its zod schemas
// and error codes sit next to its handler, so a new route or field shows up in GET /v1/openapi.json by itself.
import type { z } from "zod";
import type { ErrorCode } from "../../core/errors.js";

/** How a request proves who it is: a server's registrar token, the operator's ADMIN_TOKEN, or an identity assertion. */
export type Auth = "server_token" | "admin_token" | "identity_assertion";

export type OperationDoc = {
  summary: string;
  description?: string;
  /** Grouping in the document; the first path segment after /v1 when absent. */
  tag?: string;
  /** Accepted credentials (any one); `authOptional`: the route also answers without one. */
  auth?: Auth[];
  authOptional?: boolean;
  /** Path parameters by name (`:domain` → domain); a plain string when absent. */
  params?: Record<string, z.ZodType>;
  /** Query parameters: a zod object, read as the request sees it (strings in, defaults filled). */
  query?: z.ZodType;
  /** The JSON body; `bodyOptional`: no body at all is also accepted. */
  body?: z.ZodType;
  bodyOptional?: boolean;
  /** Success answers by status: a zod schema of the JSON body, null for none (204), or a media type with text. */
  responses: Record<number, z.ZodType | null | { mediaType: string; description: string }>;
  /** Response headers the success answers carry (name → description). */
  responseHeaders?: Record<string, string>;
  /** The contract error codes (src/core/errors.ts) this route answers besides the ones every route may answer. */
  errors: ErrorCode[];
};
