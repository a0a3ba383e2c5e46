// The OpenAPI document is generated from the route table: every /v1 route and method is in it, documented
// (summary, responses, errors), with its path parameters; errors follow the contract's code table.
import { describe, expect, it } from "vitest";
import { Ajv2020 } from "ajv/dist/2020.js";
import { ERROR_STATUS } from "../../src/core/errors.js";
import { COMMON_ERRORS, documentPath, openApiDocument, pathParams } from "../../src/http/openapi/document.js";
import type { Method } from "../../src/http/router.js";
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
    expect(Object.keys(doc.paths).every((p) => p.startsWith("/v1/") || p === "/metrics" || p.startsWith("/.well-known/"))).toBe(true);
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
    expect(put.responses["401"].content["application/json"].schema.properties.error.properties.code.enum).toEqual(["unauthorized", "token_expired"]);
    expect(put.requestBody.content["application/json"].schema.additionalProperties).toBe(false);
    expect(doc.paths["/v1/servers"].get.responses["429"].headers["Retry-After"]).toBeDefined();
    expect(doc.paths["/v1/servers"].get.parameters.map((p: any) => p.name)).toEqual(["q", "sort", "order", "status", "verified", "origin", "limit", "offset"]);
  });

  it("is OpenAPI 3.1 whose schemas compile as JSON Schema 2020-12", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.version).toBe("9.9.9");
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    let compiled = 0;
    for (const item of Object.values<any>(doc.paths)) {
      for (const op of Object.values<any>(item)) {
        for (const r of Object.values<any>(op.responses)) {
          for (const media of Object.values<any>(r.content ?? {})) (ajv.compile(media.schema), compiled++);
        }
      }
    }
    expect(compiled).toBeGreaterThan(100);
  });
});
