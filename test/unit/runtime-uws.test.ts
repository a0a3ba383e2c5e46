// The uWebSockets.js loader (issue 13): first native build that loads wins, one-line refusal naming the runtime and
// what would work, never the JavaScript fallback; and the build table matches the binaries actually installed.
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  UWS_BUILDS, UWS_COMPRESSION_DISABLED, binaryName, currentRuntime, loadUws, realProbe,
  type Runtime, type UwsBuild, type UwsProbe,
} from "../../src/uws.js";

const NEW: UwsBuild = { pkg: "new-uws", uwsVersion: "20.57.0", binDir: ".", minGlibc: { x64: "2.38", arm64: "2.38" } };
const OLD: UwsBuild = { pkg: "old-uws", uwsVersion: "20.30.0", binDir: "../binaries", minGlibc: { x64: "2.27", arm64: "2.27" } };
const NATIVE_APP = Math.max; // a function whose source reads "[native code]", as a real addon's App does

const linux = (abi: number, glibc: string | null = "2.41", nodeVersion = "v24.22.3"): Runtime =>
  ({ nodeVersion, abi, platform: "linux", arch: "x64", glibc });

/** Two installed builds; `failing` maps a binary path to the error its dlopen raises. */
function fakeProbe(files: Record<string, string[]>, failing: Record<string, string> = {}, loads: string[] = []): UwsProbe {
  return {
    binDir: (b) => (b.pkg in files ? `/nm/${b.pkg}` : null),
    list: (dir) => files[dir.slice("/nm/".length)] ?? [],
    load: (file) => {
      loads.push(file);
      if (failing[file]) throw new Error(`${failing[file]}\n    at Module._extensions..node`);
      return { App: file.includes("js-fallback") ? () => 1 : NATIVE_APP, DISABLED: 0 };
    },
  };
}

const NEW_FILES = [137, 127, 141, 115].flatMap((abi) => [`uws_linux_x64_${abi}.node`, `uws_linux_arm64_${abi}.node`, `uws_darwin_arm64_${abi}.node`]);
const OLD_FILES = [93, 108, 115].flatMap((abi) => [`uws_linux_x64_${abi}.node`, `uws_linux_arm64_${abi}.node`]);
const GLIBC_TOO_OLD = "/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found (required by /nm/new-uws/uws_linux_x64_115.node)";

describe("loadUws picks the first build that loads natively", () => {
  afterEach(() => vi.unstubAllEnvs());

  it("takes the newer build when it loads, without touching the older one", () => {
    const loads: string[] = [];
    const got = loadUws(linux(137), fakeProbe({ "new-uws": NEW_FILES, "old-uws": OLD_FILES }, {}, loads), [NEW, OLD]);
    expect(got.build.pkg).toBe("new-uws");
    expect(got.binary).toBe("/nm/new-uws/uws_linux_x64_137.node");
    expect(loads).toEqual(["/nm/new-uws/uws_linux_x64_137.node"]);
  });

  it("falls back to the older build on Node 20 when the newer one needs a newer glibc", () => {
    const probe = fakeProbe({ "new-uws": NEW_FILES, "old-uws": OLD_FILES }, { "/nm/new-uws/uws_linux_x64_115.node": GLIBC_TOO_OLD });
    const got = loadUws(linux(115, "2.36", "v20.20.2"), probe, [NEW, OLD]);
    expect(got.build.pkg).toBe("old-uws");
    expect(got.binary).toBe(path.join("/nm/old-uws", "uws_linux_x64_115.node"));
  });

  it("skips a build that is not installed (a trimmed image keeps one)", () => {
    expect(loadUws(linux(137), fakeProbe({ "new-uws": ["uws_linux_x64_137.node"] }), [OLD, NEW]).build.pkg).toBe("new-uws");
  });

  it("rejects a module whose App is not native code", () => {
    const probe: UwsProbe = { ...fakeProbe({ "new-uws": NEW_FILES }), load: () => ({ App: () => 1 }) };
    expect(() => loadUws(linux(137), probe, [NEW])).toThrow(/new-uws 20\.57\.0: not a native module/);
  });

  it("refuses before loading anything when UWS_USE_FALLBACK asks for the JavaScript fallback", () => {
    vi.stubEnv("UWS_USE_FALLBACK", "true");
    const loads: string[] = [];
    expect(() => loadUws(linux(137), fakeProbe({ "new-uws": NEW_FILES }, {}, loads), [NEW])).toThrow(/UWS_USE_FALLBACK.*refusing to start/);
    expect(loads).toEqual([]);
  });
});

describe("the refusal is one line naming the runtime, what would work, and why each build failed", () => {
  it("Node 22 on glibc 2.36: names both builds' reasons and the glibc that would work", () => {
    const probe = fakeProbe({ "new-uws": NEW_FILES, "old-uws": OLD_FILES }, { "/nm/new-uws/uws_linux_x64_127.node": GLIBC_TOO_OLD });
    let message = "";
    try {
      loadUws(linux(127, "2.36", "v22.23.5"), probe, [NEW, OLD]);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).not.toContain("\n");
    expect(message).toBe(
      "uWebSockets.js has no native build for Node v22.23.5 (ABI 127) on linux-x64 glibc 2.36; refusing to start on the slow " +
        "JavaScript fallback. Would work: Node 20/22/24/25 with glibc >= 2.38 (Debian 13, Ubuntu 24.04, RHEL 10), or Node 20 " +
        "with glibc >= 2.27 (Debian 10, Ubuntu 18.04, RHEL 8 and newer) on linux-x64. Tried: new-uws 20.57.0: version " +
        "`GLIBC_2.38' not found; old-uws 20.30.0: no binary for linux-x64 ABI 127.",
    );
  });

  it("Node 26 (ABI 147): no build has a binary", () => {
    expect(() => loadUws(linux(147, "2.41", "v26.12.1"), fakeProbe({ "new-uws": NEW_FILES, "old-uws": OLD_FILES }), [NEW, OLD])).toThrow(
      /Node v26\.12\.1 \(ABI 147\).*new-uws 20\.57\.0: no binary for linux-x64 ABI 147; old-uws 20\.30\.0: no binary for linux-x64 ABI 147\.$/,
    );
  });

  it("musl (Alpine): says a glibc distribution or macOS is needed", () => {
    const probe = fakeProbe({ "new-uws": NEW_FILES }, { "/nm/new-uws/uws_linux_x64_137.node": "Error loading shared library ld-linux-x86-64.so.2" });
    expect(() => loadUws(linux(137, null), probe, [NEW])).toThrow(
      /on linux-x64 without glibc \(musl\?\); .*Would work: a glibc Linux \(Debian, Ubuntu, RHEL; not Alpine\/musl\) or macOS\./,
    );
  });

  it("macOS names no glibc; an unsupported platform is told which ones are", () => {
    const mac: Runtime = { nodeVersion: "v26.0.0", abi: 147, platform: "darwin", arch: "arm64", glibc: null };
    expect(() => loadUws(mac, fakeProbe({ "new-uws": NEW_FILES }), [NEW])).toThrow(/on darwin-arm64; .*Would work: Node 20\/22\/24\/25 on darwin-arm64\./);
    const bsd: Runtime = { nodeVersion: "v24.0.0", abi: 137, platform: "freebsd", arch: "x64", glibc: null };
    expect(() => loadUws(bsd, fakeProbe({ "new-uws": NEW_FILES }), [NEW])).toThrow(/Would work: no build here for freebsd-x64: use Linux \(glibc\) or macOS/);
  });
});

describe("the real builds in node_modules", () => {
  it("this runtime loads a native build, and uWS.DISABLED is the constant the WebSocket behaviours use", () => {
    const got = loadUws();
    expect(path.basename(got.binary)).toBe(binaryName(currentRuntime()));
    expect(got.uws.DISABLED).toBe(UWS_COMPRESSION_DISABLED);
    // The newer build needs glibc 2.38; below that only the older one can load (this machine: Node 20, glibc 2.36).
    const glibc = currentRuntime().glibc;
    if (glibc && Number(glibc.split(".")[1]) < 38) expect(got.build.pkg).toBe("uWebSockets.js");
  });

  it("covers the documented matrix: Node 20/22/24/25 on linux x64/arm64 and darwin, Node 20 from both builds", () => {
    const abis = (b: UwsBuild, platformArch: string) =>
      realProbe.list(realProbe.binDir(b)!).filter((f) => f.startsWith(`uws_${platformArch}_`)).map((f) => Number(f.match(/_(\d+)\.node$/)![1])).sort((x, y) => x - y);
    const [newer, older] = UWS_BUILDS;
    for (const pa of ["linux_x64", "linux_arm64", "darwin_x64", "darwin_arm64"]) expect(abis(newer, pa)).toEqual(expect.arrayContaining([115, 127, 137, 141]));
    for (const pa of ["linux_x64", "linux_arm64", "darwin_x64", "darwin_arm64"]) expect(abis(older, pa)).toContain(115);
  });

  it("records, per build and arch, the highest glibc symbol version its Linux binaries need", () => {
    for (const build of UWS_BUILDS) {
      const dir = realProbe.binDir(build)!;
      const needed: Record<string, number> = {};
      for (const f of readdirSync(dir).filter((n) => /^uws_linux_.*\.node$/.test(n))) {
        const arch = f.split("_")[2];
        const versions = [...readFileSync(path.join(dir, f)).toString("latin1").matchAll(/GLIBC_2\.(\d+)/g)].map((m) => Number(m[1]));
        needed[arch] = Math.max(needed[arch] ?? 0, ...versions);
      }
      const recorded = Object.fromEntries(Object.entries(build.minGlibc).map(([arch, v]) => [arch, Number(v.split(".")[1])]));
      expect({ pkg: build.pkg, needed }).toEqual({ pkg: build.pkg, needed: recorded });
    }
  });
});
