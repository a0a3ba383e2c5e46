// Every contract error code, table-driven: unique, one class each, its HTTP status, its WebSocket close code (or an
// explicit none), a round trip between nodes as its real class, and a row in docs/api.md's error table (issue 15).
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import * as errors from "../../src/core/errors.js";
import { ERROR_CODES, ERROR_STATUS, RegistrarError, ShardMovedError, errorFromCode, errorFromWire, errorToWire, type ErrorCode } from "../../src/core/errors.js";
import { CLOSE_CODE_FOR_ERROR, CloseCode, closeCodeForError } from "../../src/ws/close-codes.js";
import { ROOT } from "../support/paths.js";

/** `| status | \`code\` | close | when |` rows of docs/api.md's error table. */
function documentedErrors(): Map<string, { status: number; close: string }> {
  const doc = readFileSync(path.join(ROOT, "docs/api.md"), "utf8");
  const table = doc.slice(doc.indexOf("| status | code | WebSocket close | when |"), doc.indexOf("No error contains a stack trace"));
  const rows = new Map<string, { status: number; close: string }>();
  for (const m of table.matchAll(/^\| (\d{3}) \| `([a-z_]+)` \| ([0-9]+|none) \|/gm)) rows.set(m[2], { status: Number(m[1]), close: m[3] });
  return rows;
}

/** The error classes the module exports (one per code, plus the abstract base and ShardMovedError). */
const classes = (Object.values(errors) as unknown[]).filter(
  (v) => typeof v === "function" && v.prototype instanceof RegistrarError && v !== ShardMovedError,
);

describe("contract errors", () => {
  const docs = documentedErrors();

  it("has as many codes as error classes, each code unique and in snake_case", () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    for (const code of ERROR_CODES) expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
    expect(classes).toHaveLength(ERROR_CODES.length);
    expect(new Set(ERROR_CODES.map((c) => errorFromCode(c, "x").constructor)).size).toBe(ERROR_CODES.length);
  });

  it("includes the codes of contract §8 (trust)", () => {
    expect(ERROR_STATUS).toMatchObject({ invalid_assertion: 401, banned: 403, verification_failed: 422 });
  });

  it.each(ERROR_CODES.map((c) => [c]))("%s: its class, status, close code, wire round trip and docs row agree", (code: ErrorCode) => {
    const err = errorFromCode(code, "something about it", { details: [{ path: "x", message: "y" }] });
    expect(err).toBeInstanceOf(RegistrarError);
    expect(err.code).toBe(code);
    expect(err.status).toBe(ERROR_STATUS[code]);
    expect(err.message).toBe("something about it");
    // Between nodes: `{code,…}` on the wire, the same class at the edge.
    const back = errorFromWire(errorToWire(err));
    expect(back.constructor).toBe(err.constructor);
    expect({ code: back.code, status: back.status, message: back.message, details: back.details }).toEqual({ code, status: err.status, message: err.message, details: err.details });
    // WebSocket: an explicit close code or an explicit none.
    expect(Object.hasOwn(CLOSE_CODE_FOR_ERROR, code)).toBe(true);
    const close = CLOSE_CODE_FOR_ERROR[code];
    expect(close === null || Object.values(CloseCode).includes(close)).toBe(true);
    expect(closeCodeForError(err)).toBe(close);
    // docs/api.md lists it with the same status and close code.
    expect(docs.get(code)).toEqual({ status: ERROR_STATUS[code], close: close === null ? "none" : String(close) });
  });

  it("documents no code the registrar does not have (except the generic 500 internal)", () => {
    expect([...docs.keys()].filter((c) => !(ERROR_CODES as string[]).includes(c))).toEqual(["internal"]);
    expect(docs.get("internal")).toEqual({ status: 500, close: String(CloseCode.internalError) });
  });

  it("keeps a moved shard a ShardMovedError across the wire (the edge retries it at the new owner)", () => {
    const back = errorFromWire(errorToWire(new ShardMovedError("shard 3 moved")));
    expect(back).toBeInstanceOf(ShardMovedError);
    expect(back.code).toBe("unavailable");
  });
});
