// The allowed import directions between the project's layers (issue 15): a wrong import fails here, in CI.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../support/paths.js";

/** [from, to, unless]: a file under `from` must not import a file under `to`, except under `unless`. */
const FORBIDDEN: [from: string, to: string, unless: string[]][] = [
  // The shared vocabulary imports nothing else of the project.
  ["src/core/", "", ["src/core/"]],
  // Actors see the node only through its vocabulary (ports are theirs).
  ["actors/", "src/", ["src/core/"]],
  // The transport knows NATS and the wire, not the node: the vocabulary and the command schemas only.
  ["transport/", "src/", ["src/core/"]],
  ["transport/", "actors/", ["actors/commands.ts"]],
  // The SDK ships alone.
  ["client/", "", ["client/"]],
  // The in-memory directory and the contract's field rules never reach MySQL.
  ["src/directory/", "src/store/", []],
  ["src/domain/", "src/store/", []],
];

const SOURCES = ["src", "actors", "transport", "client"];
const IMPORT = /(?:^|[\s;])(?:import|export)\s[^"'`;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)|^\s*import\s*["']([^"']+)["']/gm;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return walk(full);
    return /\.(ts|mts)$/.test(name) && !name.endsWith(".d.ts") ? [full] : [];
  });
}

/** Project-relative targets of a file's relative imports (packages are not the project's layers). */
export function importsOf(file: string, source: string): string[] {
  const out: string[] = [];
  for (const m of source.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec.startsWith(".")) continue;
    out.push(path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)).replace(/\.js$/, ".ts"));
  }
  return out;
}

export function violations(files: Map<string, string>): string[] {
  const found: string[] = [];
  for (const [file, source] of files) {
    for (const target of importsOf(file, source)) {
      for (const [from, to, unless] of FORBIDDEN) {
        if (file.startsWith(from) && target.startsWith(to) && !unless.some((u) => target.startsWith(u))) {
          found.push(`${file} → ${target}`);
        }
      }
    }
  }
  return found;
}

describe("import boundaries", () => {
  it("holds for every source file of the project", () => {
    const files = new Map<string, string>();
    for (const dir of SOURCES) {
      for (const full of walk(path.join(ROOT, dir))) files.set(path.relative(ROOT, full).split(path.sep).join("/"), readFileSync(full, "utf8"));
    }
    expect(files.size).toBeGreaterThan(100);
    expect(violations(files)).toEqual([]);
  });

  it.each([
    ["src/core/record.ts", 'import { Directory } from "../directory/directory.js";'],
    ["actors/server-actors.ts", 'import { isStoreUnavailable } from "../src/store/unavailable.js";'],
    ["transport/subjects.ts", 'import type { Config } from "../src/config.js";'],
    ["transport/codec.ts", 'export { ServerActors } from "../actors/server-actors.js";'],
    ["client/http.ts", 'import { ERROR_STATUS } from "../src/core/errors.js";'],
    ["src/directory/directory.ts", 'const m = await import("../store/db.js");'],
    ["src/domain/schemas.ts", 'import type { Db } from "../store/db.js";'],
  ])("catches a forbidden import in %s", (file, line) => {
    expect(violations(new Map([[file, line]]))).toHaveLength(1);
  });

  it.each([
    ["actors/server-actors.ts", 'import { UnauthorizedError } from "../src/core/errors.js";'],
    ["transport/subjects.ts", 'import { CommandEnvelope } from "../actors/commands.js";'],
    ["src/http/edge.ts", 'import { ServersRepo } from "../store/servers-repo.js";'],
  ])("allows %s to import what its layer may", (file, line) => {
    expect(violations(new Map([[file, line]]))).toEqual([]);
  });
});
