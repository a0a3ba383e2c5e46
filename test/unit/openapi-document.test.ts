// The OpenAPI document is generated from the route table: every /v1 route and method is in it, documented
// (summary, responses, errors), with its path parameters; errors follow the contract's code table.
import { describe, expect, it } from "vitest";
import { Ajv2020 } from "ajv/dist/2020.js";
import { ERROR_STATUS } from "../../src/core/errors.js";
import { COMMON_ERRORS, documentPath, openApiDocument, pathParams } from "../../src/http/openapi/document.js";
import type { Method } from "../../src/http/router.js";
import { ResponseChecker } from "../support/openapi-check.js";
import { routeTable } from "../support/route-table.js";

const routes = routeTable();
const doc = openApiDocument(routes, { version: "9.9.9" }) as any;

describe("the OpenAPI document", () => {
  it("has every /v1 route and method of the table, each with its own doc", () => {
    const v1 = routes.filter((r) => !r.bare && r.dialect !== "legacy");
    expect(v1.length).toBeGreaterThan(20);
    for (const route of v1) {
      for (const [method, spec] of Object.entries(route.methods) as [Method, any][]) {
        const where = `${method} /v1${route.path}`;
        expect(spec.doc, `${where} has no doc`).toBeDefined();
        const op = doc.paths[documentPath(route)]?.[method.toLowerCase()];
        expect(op, `${where} is missing from the document`).toBeDefined();
        expect(op.summary).not.toMatch(/undocumented/);
        expect(op.parameters.filter((p: any) => p.in === "path").map((p: any) => p.name)).toEqual(pathParams(route.path));
        expect(Object.keys(op.responses).some((s) => Number(s) < 300)).toBe(true);
      }
    }
    expect(doc.paths["/v1/openapi.json"].get).toBeDefined();
  });

  it("has nothing that is not in the table, and no legacy route", () => {
    const expected = new Set(routes.filter((r) => r.dialect !== "legacy" && (!r.bare || Object.values(r.methods).some((m) => m?.doc))).map(documentPath));
    expect(new Set(Object.keys(doc.paths))).toEqual(expected);
    expect(Object.keys(doc.paths).every((p) => p.startsWith("/v1/") || ["/metrics", "/livez", "/readyz"].includes(p) || p.startsWith("/.well-known/"))).toBe(true);
  });

  it("answers every operation's errors with the envelope, codes grouped under their contract status", () => {
    for (const item of Object.values<any>(doc.paths)) {
      for (const op of Object.values<any>(item)) {
        for (const code of COMMON_ERRORS) {
          const schema = op.responses[String(ERROR_STATUS[code])].content["application/json"].schema;
          expect(JSON.stringify(schema)).toContain(`"${code}"`);
        }
      }
    }
    const put = doc.paths["/v1/servers/{domain}"].put;
    expect(put.security).toEqual([{ server_token: [] }]);
    expect(put.responses["401"].content["application/json"].schema.allOf[1].properties.error.properties.code.enum).toEqual(["unauthorized", "token_expired"]);
    expect(put.requestBody.content["application/json"].schema.additionalProperties).toBe(false);
    expect(doc.paths["/v1/servers"].get.responses["429"].headers["Retry-After"]).toEqual({ $ref: "#/components/headers/Retry-After" });
    expect(doc.paths["/v1/servers"].get.parameters.map((p: any) => p.name)).toEqual(expect.arrayContaining(["q", "sort", "order", "status", "verified", "origin", "limit", "offset", "cursor"]));
    expect(doc.paths["/v1/servers/{domain}"].get.responses["304"]).toBeDefined();
  });

  it("is OpenAPI 3.1 whose schemas compile as JSON Schema 2020-12", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.version).toBe("9.9.9");
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    ajv.addSchema(doc, "doc");
    let compiled = 0;
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        for (const [status, r] of Object.entries<any>(op.responses)) {
          if (!r.content?.["application/json"]) continue;
          const at = ["paths", path, method, "responses", status, "content", "application/json", "schema"].map((p) => p.replaceAll("/", "~1")).join("/");
          ajv.compile({ $ref: `doc#/${at}` });
          compiled++;
        }
      }
    }
    expect(compiled).toBeGreaterThan(100);
  });
});

describe("the response checker the integration tests use", () => {
  const checker = new ResponseChecker(doc);
  const at = "2026-12-03T12:00:00.000Z";
  const server = {
    domain: "a.example.com", name: "A", description: null, icon: null, api_url: "https://a.example.com/api", ws_url: null, voice_url: null,
    voice_provider: null, cdn_url: null, protocols: [], capabilities: [], version: null, user_count: 0, channel_count: 0, verified: false,
    verified_at: null, status: "online", last_seen: at, created_at: at, rating: { average: null, count: 0, distribution: [0, 0, 0, 0, 0], verified_count: 0 },
    origin: "reg.example.com", web_url: null, languages: [], registration: null, uptime_30d: null,
  };
  const answer = (method: string, path: string, status: number, body: unknown) =>
    checker.problem({ method, path, status, contentType: "application/json", text: body === undefined ? "" : JSON.stringify(body) });

  it("accepts answers the document describes", () => {
    expect(answer("GET", "/v1/servers/a.example.com", 200, { server })).toBeNull();
    expect(answer("GET", "/v1/servers?limit=1", 200, { servers: [server], total: 1, limit: 1, offset: 0, next_cursor: null })).toBeNull();
    expect(answer("GET", "/v1/servers/a.example.com", 304, undefined)).toBeNull();
    expect(answer("DELETE", "/v1/servers/a.example.com", 204, undefined)).toBeNull();
    expect(answer("PUT", "/v1/servers/a.example.com", 401, { error: { code: "token_expired", message: "x" } })).toBeNull();
    expect(answer("PATCH", "/v1/servers", 405, { error: { code: "method_not_allowed", message: "x" } })).toBeNull();
    expect(answer("GET", "/v1/nothing/here", 404, { error: { code: "not_found", message: "x" } })).toBeNull();
  });

  it("refuses answers that drift from it", () => {
    expect(answer("GET", "/v1/servers/a.example.com", 200, { server: { ...server, secret: 1 } })).toMatch(/additional/);
    expect(answer("GET", "/v1/servers/a.example.com", 200, { server: { ...server, last_seen: "yesterday" } })).toMatch(/date-time/);
    expect(answer("GET", "/v1/servers/a.example.com", 418, { server })).toMatch(/status not documented/);
    expect(answer("PUT", "/v1/servers/a.example.com", 401, { error: { code: "banned", message: "x" } })).toMatch(/allowed values/);
    expect(answer("DELETE", "/v1/servers/a.example.com", 204, { server })).toMatch(/without a body/);
    expect(answer("GET", "/v1/nothing/here", 200, {})).toMatch(/expected 404/);
    expect(checker.problem({ method: "GET", path: "/v1/servers/a.example.com", status: 200, contentType: "text/html", text: "<p>" })).toMatch(/Content-Type/);
  });
});
