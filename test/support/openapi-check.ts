// Checks a real HTTP answer against the OpenAPI document (GET /v1/openapi.json): the status must be documented for
// the operation, the body must match its JSON Schema (ajv, draft 2020-12, formats checked). test/support/http.ts
// runs it on every /v1 answer, so an answer that drifts from the document fails the test that saw it.
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { openApiDocument } from "../../src/http/openapi/document.js";
import { routeTable } from "./route-table.js";

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const DOC_ID = "openapi.json";
const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");

export type Answer = { method: string; path: string; status: number; contentType: string | null; text: string };

export class ResponseChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly templates: { re: RegExp; template: string }[];
  private readonly compiled = new Map<string, ValidateFunction>();

  /** `served`: the node's own document; else the full route table's, where a 404 may mean "not mounted there". */
  constructor(private readonly doc: any, private readonly served = true) {
    addFormats(this.ajv);
    this.ajv.addSchema(doc, DOC_ID);
    this.templates = Object.keys(doc.paths).map((template) => ({
      template,
      re: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\\?\{[A-Za-z_]+\\?\}/g, "[^/]+")}$`),
    }));
  }

  /** Is this path one the document describes (or should: everything under /v1/)? */
  covers(path: string): boolean {
    const p = path.split("?")[0];
    return p.startsWith("/v1/") || this.templates.some((t) => t.re.test(p));
  }

  /** Null when the answer matches the document, else what is wrong. */
  problem(a: Answer): string | null {
    const method = a.method.toLowerCase();
    if (method === "head" || method === "options") return null;
    const p = a.path.split("?")[0];
    const template = this.templates.find((t) => t.re.test(p))?.template;
    const op = template ? this.doc.paths[template][method] : undefined;
    if (!template) return this.envelope(a, 404, "not_found", "no documented path");
    if (!op) return this.envelope(a, 405, "method_not_allowed", `${a.method} is not documented for ${template}`);
    if (!this.served && a.status === 404 && !op.responses["404"]) return this.envelope(a, 404, "not_found", "not mounted");
    const response = op.responses[String(a.status)];
    const where = `${a.method} ${template} → ${a.status}`;
    if (!response) return `${where}: status not documented (documented: ${Object.keys(op.responses).join(", ")})`;
    if (!response.content) return a.text === "" ? null : `${where}: documented without a body, answered ${a.text.slice(0, 200)}`;
    const media = (a.contentType ?? "").split(";")[0].trim();
    if (!response.content[media]) return `${where}: Content-Type ${media || "(none)"} not documented (${Object.keys(response.content).join(", ")})`;
    if (media !== "application/json") return null;
    return this.validate(pointer("paths", template, method, "responses", String(a.status), "content", media, "schema"), a.text, where);
  }

  /** An answer outside the documented operations: the contract's error envelope with that status and code. */
  private envelope(a: Answer, status: number, code: string, why: string): string | null {
    if (a.status !== status) return `${a.method} ${a.path} → ${a.status}: ${why}, so expected ${status} ${code}`;
    const bad = this.validate(pointer("components", "schemas", "Error"), a.text, `${a.method} ${a.path} → ${status}`);
    if (bad) return bad;
    return JSON.parse(a.text).error.code === code ? null : `${a.method} ${a.path} → ${status}: expected code ${code}, got ${a.text.slice(0, 200)}`;
  }

  private validate(ref: string, text: string, where: string): string | null {
    let validate = this.compiled.get(ref);
    if (!validate) this.compiled.set(ref, (validate = this.ajv.compile({ $ref: `${DOC_ID}#/${ref}` })));
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return `${where}: body is not JSON: ${text.slice(0, 200)}`;
    }
    if (validate(body)) return null;
    const errors = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
    return `${where}: body does not match the OpenAPI document: ${errors.join("; ")}; body: ${text.slice(0, 300)}`;
  }
}

const checkers = new Map<string, Promise<ResponseChecker>>();

/**
 * The checker for a registrar at `base`: from its own GET /v1/openapi.json (so it describes exactly what that node
 * mounted, with or without the admin routes), or the document of the full route table if that node is gone
 * (stopped by its test before the checks ran).
 */
export function checkerFor(base: string): Promise<ResponseChecker> {
  let c = checkers.get(base);
  if (!c) {
    c = fetch(`${base}/v1/openapi.json`)
      .then((res) => (res.ok ? res.json() : Promise.reject(new Error(String(res.status)))))
      .then(
        (doc) => new ResponseChecker(doc),
        () => new ResponseChecker(openApiDocument(routeTable(), { version: "local" }), false),
      );
    checkers.set(base, c);
  }
  return c;
}
