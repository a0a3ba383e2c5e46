// `node dist/src/uws-check.js [--prune]`: says which uWebSockets.js build this runtime loads (one JSON line, exit 0)
// or prints the start-up refusal (exit 1). With --prune it deletes every other uws_*.node file of the shipped builds,
// anywhere in their packages (the old one also carries copies in its JavaScript fallback), so an image keeps exactly
// the binary its own Node and glibc load (deploy/Dockerfile, docs/runtime.md).
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { UWS_BUILDS, loadUws, realProbe } from "./uws.js";

try {
  const { build, binary, runtime } = loadUws();
  let removedFiles = 0;
  let removedBytes = 0;
  if (process.argv.includes("--prune")) {
    for (const b of UWS_BUILDS) {
      const dir = realProbe.binDir(b);
      if (!dir) continue;
      for (const file of nodeFiles(packageRoot(dir))) {
        if (file === binary) continue;
        removedBytes += statSync(file).size;
        rmSync(file);
        removedFiles++;
      }
    }
  }
  const pruned = process.argv.includes("--prune") ? { removed_files: removedFiles, removed_bytes: removedBytes } : {};
  process.stdout.write(JSON.stringify({ ok: true, pkg: build.pkg, uws: build.uwsVersion, binary, ...runtime, ...pruned }) + "\n");
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}

/** The nearest folder at or above `dir` holding a package.json. */
function packageRoot(dir: string): string {
  let d = dir;
  while (!existsSync(path.join(d, "package.json")) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
}

/** Every uws_*.node file below `dir`. */
function nodeFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /^uws_.*\.node$/.test(e.name))
    .map((e) => path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}
