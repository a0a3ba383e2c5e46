// The SDK package's boundaries (issue 13): every package its sources import is declared in client/package.json,
// and only the Node fallback module touches Node. (That client/ imports no server file is import-boundaries'.)
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/paths.js";

const CLIENT = path.join(ROOT, "client");
const NODE_ONLY = "websocket-fallback-node.ts";

const sources = readdirSync(CLIENT).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"));
const pkg = JSON.parse(readFileSync(path.join(CLIENT, "package.json"), "utf8")) as {
  dependencies?: Record<string, string>; peerDependencies?: Record<string, string>; imports?: Record<string, unknown>;
};

/** Module specifiers of every static import/export-from and dynamic import() in a source file. */
function specifiers(file: string): string[] {
  const text = readFileSync(path.join(CLIENT, file), "utf8");
  const found = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm), ...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)];
  return found.map((m) => m[1]);
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
const packageOf = (spec: string) => spec.split("/").slice(0, spec.startsWith("@") ? 2 : 1).join("/");

describe("the SDK's sources", () => {
  it("are found (the scan below is not vacuous)", () => {
    expect(sources).toEqual(expect.arrayContaining(["index.ts", "http.ts", "socket.ts", NODE_ONLY]));
  });

  it("import only packages declared in client/package.json, and subpath imports it defines", () => {
    const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
    const undeclared = sources.flatMap((f) =>
      specifiers(f)
        .filter((s) => !s.startsWith("."))
        .filter((s) => (s.startsWith("#") ? !(s in (pkg.imports ?? {})) : !declared.has(packageOf(s))))
        .map((s) => `${f}: ${s}`),
    );
    expect(undeclared).toEqual([]);
  });

  it("use Node (node: modules, `ws`, process, Buffer, require) only in the Node fallback", () => {
    const nodeish = /\bfrom\s*["']node:|\bimport\(\s*["'](?:node:|ws["'])|\bprocess\.|\bBuffer\b|\brequire\(/;
    const offenders = sources
      .filter((f) => f !== NODE_ONLY)
      .flatMap((f) => readFileSync(path.join(CLIENT, f), "utf8").split("\n").map((line, i) => ({ f, i, line })))
      .filter(({ line }) => !/^\s*(\/\/|\*|\/\*)/.test(line) && nodeish.test(line))
      .map(({ f, i, line }) => `${f}:${i + 1}: ${line.trim()}`);
    expect(offenders).toEqual([]);
  });
});
