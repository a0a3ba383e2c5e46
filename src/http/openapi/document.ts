// The OpenAPI 3.1 document, generated from the route table: each route's OperationDoc (zod schemas, error codes)
// becomes an operation, the zod schemas become JSON Schema 2020-12 (OpenAPI 3.1's dialect) through z.toJSONSchema.
import { z } from "zod";
import { ERROR_STATUS, type ErrorCode } from "../../core/errors.js";
import type { Method, MethodSpec, RouteSpec } from "../router.js";
import type { Auth, OperationDoc } from "./operation-doc.js";
import { errorEnvelope, INTERNAL_CODE } from "./responses.js";

export type DocumentInfo = { version: string; /** PATH_PREFIX ("" for none). */ prefix?: string };
type JsonSchema = Record<string, unknown>;

/** Errors any route may answer: the body checks run on every route (contract §1), any store may be unavailable. */
export const COMMON_ERRORS: readonly ErrorCode[] = ["invalid_json", "payload_too_large", "unsupported_media_type", "unavailable"];

const SECURITY: Record<Auth, JsonSchema> = {
  server_token: { type: "http", scheme: "bearer", description: "The registrar token of the server named in the path (64 hex characters, contract §3)." },
  admin_token: { type: "http", scheme: "bearer", description: "The operator's ADMIN_TOKEN (contract §8.5)." },
  identity_assertion: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "An identity assertion from the rater's home server (contract §8.3, §8.4)." },
};

const HEADERS = {
  "X-Request-Id": { description: "The request's id: the incoming X-Request-Id when valid, else a generated one.", schema: { type: "string" } },
  "RateLimit-Limit": { description: "Requests allowed per window.", schema: { type: "integer" } },
  "RateLimit-Remaining": { description: "Requests left in this window.", schema: { type: "integer" } },
  "RateLimit-Reset": { description: "Seconds until the window resets.", schema: { type: "integer" } },
  "Retry-After": { description: "Seconds to wait before retrying.", schema: { type: "integer" } },
  ETag: { description: "A weak validator of the body: send it back as If-None-Match for a 304 (contract §9.2).", schema: { type: "string" } },
};
const header = (name: keyof typeof HEADERS) => ({ [name]: { $ref: `#/components/headers/${name}` } });
const RATE_HEADERS = { ...header("RateLimit-Limit"), ...header("RateLimit-Remaining"), ...header("RateLimit-Reset") };

/** The envelope (components.schemas.Error) with `code` narrowed to the codes this status answers here. */
function errorSchema(codes: string[]): JsonSchema {
  return { allOf: [{ $ref: "#/components/schemas/Error" }, { properties: { error: { properties: { code: { enum: codes } } } } }] };
}

/**
 * A zod schema as JSON Schema 2020-12: as the client sends it (`input`) or as the registrar answers (`output`).
 * Schemas with a meta `id` (responses.ts) go to `shared` and are referenced as #/components/schemas/<id>.
 */
export function jsonSchema(schema: z.ZodType, io: "input" | "output", shared?: Record<string, JsonSchema>): JsonSchema {
  const out = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io,
    unrepresentable: "any",
    // `format: date-time` says it; zod's long equivalent regex only bloats the document.
    override: (ctx) => {
      if (ctx.jsonSchema.format === "date-time") delete ctx.jsonSchema.pattern;
    },
  }) as JsonSchema;
  delete out.$schema;
  const defs = out.$defs as Record<string, JsonSchema> | undefined;
  if (!defs) return out;
  if (!shared) throw new Error("a schema with a shared id needs the document's components");
  delete out.$defs;
  const moved = JSON.parse(JSON.stringify({ out, defs }).replaceAll('"#/$defs/', '"#/components/schemas/'));
  Object.assign(shared, moved.defs);
  return moved.out;
}

/** "/servers/:domain/webhooks/:id" → ["domain", "id"]. */
export function pathParams(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1]);
}

/** The route table's path as the document writes it: "/v1/servers/{domain}". */
export function documentPath(route: RouteSpec): string {
  const full = route.bare ? route.path : `/v1${route.path}`;
  return full.replace(/:([A-Za-z_]+)/g, "{$1}");
}

/** The routes the document describes: every /v1 route, and the bare ones that say what they answer. */
export function documentedRoutes(routes: RouteSpec[]): RouteSpec[] {
  return routes.filter((r) => r.dialect !== "legacy" && (!r.bare || Object.values(r.methods).some((m) => m?.doc)));
}

function operationId(method: Method, path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter((w) => w && w !== "v1");
  return method.toLowerCase() + words.map((w) => w[0].toUpperCase() + w.slice(1)).join("");
}

function parameters(route: RouteSpec, doc: OperationDoc | undefined): JsonSchema[] {
  const out: JsonSchema[] = pathParams(route.path).map((name) => ({
    name, in: "path", required: true, schema: jsonSchema(doc?.params?.[name] ?? z.string(), "input"),
  }));
  if (doc?.query) {
    const q = jsonSchema(doc.query, "input");
    const required = new Set((q.required as string[] | undefined) ?? []);
    for (const [name, schema] of Object.entries((q.properties ?? {}) as Record<string, JsonSchema>)) {
      out.push({ name, in: "query", required: required.has(name), schema });
    }
  }
  return out;
}

function successResponse(status: number, body: OperationDoc["responses"][number], headers: JsonSchema, shared: Record<string, JsonSchema>): JsonSchema {
  const description = status === 204 ? "No content." : status === 201 ? "Created." : "OK.";
  if (body === null) return { description, headers };
  if (body instanceof z.ZodType) return { description, headers, content: { "application/json": { schema: jsonSchema(body, "output", shared) } } };
  return { description: body.description, headers, content: { [body.mediaType]: { schema: { type: "string" } } } };
}

function errorResponses(codes: ErrorCode[], headers: JsonSchema): Record<string, JsonSchema> {
  const byStatus = new Map<number, string[]>([[500, [INTERNAL_CODE]]]);
  for (const code of codes) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  const out: Record<string, JsonSchema> = {};
  for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    const extra: JsonSchema = status === 429 ? header("Retry-After") : {};
    out[String(status)] = {
      description: list.map((c) => `\`${c}\``).join(", "),
      headers: { ...headers, ...extra },
      content: { "application/json": { schema: errorSchema(list) } },
    };
  }
  return out;
}

/** A status that is both an answer and an error (GET /v1/health's 503): either body. */
function mergeResponses(ok: JsonSchema, error: JsonSchema): JsonSchema {
  const schemaOf = (r: JsonSchema) => ((r.content as Record<string, { schema: JsonSchema }>)["application/json"]).schema;
  return {
    description: `${ok.description as string} Or an error: ${error.description as string}`,
    headers: ok.headers,
    content: { "application/json": { schema: { anyOf: [schemaOf(ok), schemaOf(error)] } } },
  };
}

function operation(route: RouteSpec, method: Method, spec: MethodSpec, shared: Record<string, JsonSchema>): JsonSchema {
  const doc = spec.doc;
  const path = documentPath(route);
  // Per client IP or per domain (the router's two limits): RateLimit-* on the answers, 429 rate_limited.
  const limited = spec.limiter !== undefined || spec.perDomain !== undefined;
  const headers: JsonSchema = { ...header("X-Request-Id"), ...(limited ? RATE_HEADERS : {}) };
  const codes = new Set<ErrorCode>([...COMMON_ERRORS, ...(doc?.errors ?? [])]);
  if (limited) codes.add("rate_limited");
  const op: JsonSchema = {
    operationId: operationId(method, path),
    summary: doc?.summary ?? `${method} ${path} (undocumented)`,
    tags: [doc?.tag ?? path.split("/").filter((s) => s && s !== "v1")[0] ?? "registrar"],
    parameters: parameters(route, doc),
  };
  if (doc?.description) op.description = doc.description;
  if (doc?.auth) op.security = [...doc.auth.map((a) => ({ [a]: [] })), ...(doc.authOptional ? [{}] : [])];
  if (doc?.body) op.requestBody = { required: !doc.bodyOptional, content: { "application/json": { schema: jsonSchema(doc.body, "input", shared) } } };
  const responses: Record<string, JsonSchema> = {};
  for (const [status, body] of Object.entries(doc?.responses ?? {})) {
    const extra: JsonSchema = {};
    for (const [name, description] of Object.entries(doc?.responseHeaders ?? {})) extra[name] = { description, schema: { type: "string" } };
    // Every 200 answer to a GET carries an ETag, and If-None-Match with it answers 304 (src/http/representation.ts).
    const etag = method === "GET" && status === "200" ? header("ETag") : {};
    responses[status] = successResponse(Number(status), body, { ...headers, ...etag, ...extra }, shared);
  }
  if (method === "GET" && responses["200"]) responses["304"] = { description: "Not modified: If-None-Match named the current ETag.", headers: { ...headers, ...header("ETag") } };
  for (const [status, error] of Object.entries(errorResponses([...codes], headers))) {
    const ok = responses[status];
    responses[status] = ok ? mergeResponses(ok, error) : error;
  }
  op.responses = responses;
  return op;
}

export function openApiDocument(routes: RouteSpec[], info: DocumentInfo): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const shared: Record<string, JsonSchema> = {};
  for (const route of documentedRoutes(routes)) {
    const item = (paths[documentPath(route)] ??= {});
    for (const [method, spec] of Object.entries(route.methods) as [Method, MethodSpec][]) item[method.toLowerCase()] = operation(route, method, spec, shared);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Zent Registrar",
      version: info.version,
      description:
        "The registrar's HTTP API (contract §1–§3, §8), generated from the route table. Every error answers the " +
        "envelope `{\"error\":{\"code\",\"message\",\"details\"?}}`; a known path with another method answers 405 " +
        "`method_not_allowed` with `Allow`, an unknown path 404 `not_found`; an unexpected failure is 500 `internal`. The WebSocket protocols are described " +
        "in docs/asyncapi.json.",
    },
    servers: [{ url: info.prefix || "/" }],
    paths,
    components: { securitySchemes: SECURITY, headers: HEADERS, schemas: { ...shared, Error: jsonSchema(errorEnvelope(), "output") } },
  };
}
