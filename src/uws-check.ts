// `node dist/src/uws-check.js`: says which uWebSockets.js build this runtime loads (one JSON line, exit 0) or prints
// the start-up refusal (exit 1). Used by deploy/Dockerfile to check the base and trim the other binaries.
import { loadUws } from "./uws.js";

try {
  const { build, binary, runtime } = loadUws();
  process.stdout.write(JSON.stringify({ ok: true, pkg: build.pkg, uws: build.uwsVersion, binary, ...runtime }) + "\n");
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
