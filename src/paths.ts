// Locates the project root (where package.json and migrations/ live) from both src/ (tsx) and dist/src/ (built).
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, "package.json")) && existsSync(path.join(dir, "migrations"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error("cannot find the project root (package.json with migrations/)");
    dir = up;
  }
}

export const PROJECT_ROOT = findRoot();
