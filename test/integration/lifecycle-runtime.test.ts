// Start-up on a Node.js that no shipped uWebSockets.js build supports (issue 13): the real entry point exits 1 with
// one stderr line naming the runtime and what would work, and never loads the old package's JavaScript fallback.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { UWS_BUILDS, currentRuntime, realProbe, whatWorks } from "../../src/uws.js";
import { ROOT } from "../support/registrar.js";

// CI cannot download another Node, so the child pretends to be Node 26 (ABI 147, which neither build has) by
// redefining process.versions.modules before main.ts runs: the loader then sees exactly what Node 26 would give it.
const AS_NODE_26 = `data:text/javascript,Object.defineProperty(process.versions,"modules",{value:"147"})`;

describe("start-up on an unsupported Node.js ABI", () => {
  it("exits 1 with one line naming Node, ABI, platform, glibc and what would work, before it opens anything", () => {
    const r = spawnSync(process.execPath, ["--import", AS_NODE_26, "--import", "tsx", "src/main.ts"], {
      cwd: ROOT,
      // Port 1: had start-up got past the loader, the error would be a MySQL connection error instead.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: "0", HOST: "127.0.0.1", DATABASE_URL: "mysql://root@127.0.0.1:1/zent_never_opened" },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(r.status).toBe(1);
    const lines = r.stderr.split("\n").filter((l) => l.trim() !== "");
    const rt = currentRuntime();
    const where = `${rt.platform}-${rt.arch}${rt.platform === "linux" ? (rt.glibc ? ` glibc ${rt.glibc}` : " without glibc (musl?)") : ""}`;
    expect(lines).toEqual([
      `start-up failed: uWebSockets.js has no native build for Node ${process.version} (ABI 147) on ${where}; ` +
        `refusing to start on the slow JavaScript fallback. Would work: ${whatWorks({ ...rt, abi: 147 }, realProbe, UWS_BUILDS)}. ` +
        `Tried: @btc-vision/uwebsockets.js 20.57.0: no binary for ${rt.platform}-${rt.arch} ABI 147; ` +
        `uWebSockets.js 20.30.0: no binary for ${rt.platform}-${rt.arch} ABI 147.`,
    ]);
    expect(lines[0]).toMatch(/Would work: Node 20\/22\/24\/25/);
    // The old package prints "Falling back to a NodeJS implementation" when it is imported on a Node it has no binary for.
    expect(r.stdout + r.stderr).not.toMatch(/Falling back|registrar listening/);
  });
});
