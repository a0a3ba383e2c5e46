// Loads the first uWebSockets.js native build that works on this runtime; refuses in one line when none does, and
// never runs on the package's slow JavaScript fallback (issue 13, docs/runtime.md).
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import type uWSTypes from "uWebSockets.js";

/** The typed API: declared by the v20.30 build; the code uses only what both builds provide (docs/runtime.md). */
export type Uws = typeof uWSTypes;

/** One npm build of uWebSockets.js we ship. `binDir` is relative to the file its package name resolves to. */
export type UwsBuild = {
  pkg: string;
  uwsVersion: string;
  binDir: string;
  /** Highest GLIBC_x.y symbol version its Linux binaries need, by arch (checked against the ELF files by a unit test). */
  minGlibc: Record<string, string>;
};

/**
 * Newest first: the newer build carries 27 upstream releases of fixes and covers Node 20–25, but needs glibc ≥ 2.38;
 * the old one is what still loads on Node 20 with an older glibc (Debian 12, Ubuntu 22.04, RHEL 9) and on 32-bit ARM.
 */
export const UWS_BUILDS: readonly UwsBuild[] = [
  { pkg: "@btc-vision/uwebsockets.js", uwsVersion: "20.57.0", binDir: ".", minGlibc: { x64: "2.38", arm64: "2.38" } },
  { pkg: "uWebSockets.js", uwsVersion: "20.30.0", binDir: "../binaries", minGlibc: { x64: "2.27", arm64: "2.27", arm: "2.28" } },
];

/** The registrar's own floor (package.json engines): older ABIs in a build are not offered. */
const MIN_ABI = 115;
const NODE_MAJOR_BY_ABI: Record<number, number> = { 93: 16, 108: 18, 115: 20, 120: 21, 127: 22, 131: 23, 137: 24, 141: 25, 147: 26 };
/** Which common distributions ship at least that glibc, for the refusal line. */
const DISTROS_BY_GLIBC: Record<string, string> = { "2.38": "Debian 13, Ubuntu 24.04, RHEL 10", "2.27": "Debian 10, Ubuntu 18.04, RHEL 8 and newer" };

export type Runtime = { nodeVersion: string; abi: number; platform: string; arch: string; glibc: string | null };

export type LoadedUws = { uws: Uws; build: UwsBuild; binary: string; runtime: Runtime };

/** What the loader needs from the outside world; unit tests pass a fake. */
export type UwsProbe = {
  /** The directory holding a build's binaries, or null when the package is not installed. */
  binDir(build: UwsBuild): string | null;
  /** File names in that directory. */
  list(dir: string): string[];
  /** Loads a native addon; throws as `require` does. */
  load(file: string): unknown;
};

export function currentRuntime(): Runtime {
  let glibc: string | null = null;
  if (process.platform === "linux") {
    // The report header is the documented way to read the running glibc; null there means musl (or another libc).
    (process.report as { excludeNetwork?: boolean }).excludeNetwork = true; // no DNS or interface look-ups
    const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
    glibc = header?.glibcVersionRuntime ?? null;
  }
  return { nodeVersion: process.version, abi: Number(process.versions.modules), platform: process.platform, arch: process.arch, glibc };
}

const require = createRequire(import.meta.url);

export const realProbe: UwsProbe = {
  binDir(build) {
    try {
      return path.resolve(path.dirname(require.resolve(build.pkg)), build.binDir);
    } catch {
      return null; // not installed (a trimmed image keeps only the build it uses)
    }
  },
  list: (dir) => (existsSync(dir) ? readdirSync(dir) : []),
  load: (file) => require(file),
};

export function binaryName(rt: Pick<Runtime, "platform" | "arch" | "abi">): string {
  return `uws_${rt.platform}_${rt.arch}_${rt.abi}.node`;
}

function isNative(uws: unknown): uws is Uws {
  const app = (uws as { App?: unknown } | null)?.App;
  return typeof app === "function" && /\[native code\]/.test(Function.prototype.toString.call(app));
}

/** The first line of a loader error, with the absolute path shortened, e.g. "version `GLIBC_2.38' not found". */
function reason(err: unknown): string {
  const line = String((err as Error)?.message ?? err).split("\n")[0];
  return line.replace(/ \(required by [^)]*\)/, "").replace(/^.*libc\.so\.6: /, "");
}

/**
 * `useFallback`: UWS_USE_FALLBACK as parsed (src/config.ts for the node); the default reads the environment for the
 * tools that run without a config (uws-check, bench).
 */
export function loadUws(
  rt: Runtime = currentRuntime(),
  probe: UwsProbe = realProbe,
  builds: readonly UwsBuild[] = UWS_BUILDS,
  useFallback: boolean = isFallbackRequested(process.env.UWS_USE_FALLBACK),
): LoadedUws {
  refuseFallback(useFallback);
  const tried: string[] = [];
  for (const build of builds) {
    const label = `${build.pkg} ${build.uwsVersion}`;
    const dir = probe.binDir(build);
    if (!dir) {
      tried.push(`${label}: not installed`);
      continue;
    }
    const file = binaryName(rt);
    if (!probe.list(dir).includes(file)) {
      tried.push(`${label}: no binary for ${rt.platform}-${rt.arch} ABI ${rt.abi}`);
      continue;
    }
    let uws: unknown;
    try {
      uws = probe.load(path.join(dir, file));
    } catch (err) {
      tried.push(`${label}: ${reason(err)}`);
      continue;
    }
    if (isNative(uws)) return { uws, build, binary: path.join(dir, file), runtime: rt };
    tried.push(`${label}: not a native module`);
  }
  throw new Error(refusal(rt, probe, builds, tried));
}

/** The one-line refusal: this runtime, what would work here, and why each build did not load. */
export function refusal(rt: Runtime, probe: UwsProbe, builds: readonly UwsBuild[], tried: string[]): string {
  const libc = rt.platform !== "linux" ? "" : rt.glibc ? ` glibc ${rt.glibc}` : " without glibc (musl?)";
  return (
    `uWebSockets.js has no native build for Node ${rt.nodeVersion} (ABI ${rt.abi}) on ${rt.platform}-${rt.arch}${libc}; ` +
    `refusing to start on the slow JavaScript fallback. Would work: ${whatWorks(rt, probe, builds)}. Tried: ${tried.join("; ")}.`
  );
}

export function whatWorks(rt: Runtime, probe: UwsProbe, builds: readonly UwsBuild[]): string {
  if (rt.platform === "linux" && !rt.glibc) return "a glibc Linux (Debian, Ubuntu, RHEL; not Alpine/musl) or macOS";
  const offers: string[] = [];
  for (const build of builds) {
    const dir = probe.binDir(build);
    if (!dir) continue;
    const prefix = `uws_${rt.platform}_${rt.arch}_`;
    const nodes = probe
      .list(dir)
      .filter((f) => f.startsWith(prefix) && f.endsWith(".node"))
      .map((f) => Number(f.slice(prefix.length, -".node".length)))
      .filter((abi) => abi >= MIN_ABI)
      .sort((a, b) => a - b)
      .map((abi) => (NODE_MAJOR_BY_ABI[abi] ? String(NODE_MAJOR_BY_ABI[abi]) : `ABI ${abi}`));
    if (nodes.length === 0) continue;
    const glibc = rt.platform === "linux" ? build.minGlibc[rt.arch] : undefined;
    const distros = glibc && DISTROS_BY_GLIBC[glibc] ? ` (${DISTROS_BY_GLIBC[glibc]})` : "";
    offers.push(`Node ${nodes.join("/")}${glibc ? ` with glibc >= ${glibc}${distros}` : ""}`);
  }
  return offers.length ? `${offers.join(", or ")} on ${rt.platform}-${rt.arch}` : `no build here for ${rt.platform}-${rt.arch}: use Linux (glibc) or macOS on x64 or arm64`;
}

/** Only the values the old package itself obeys: UWS_USE_FALLBACK=0 or =false loads the native module as usual. */
export function isFallbackRequested(value: string | undefined): boolean {
  return ["true", "True", "TRUE", "1"].includes(value ?? "");
}

function refuseFallback(useFallback: boolean): void {
  if (useFallback) {
    throw new Error("UWS_USE_FALLBACK is set: uWebSockets.js would run on its slow JavaScript fallback; refusing to start (unset it)");
  }
}

let loaded: LoadedUws | null = null;

/** The native uWebSockets.js for this process (loaded once), or an Error whose message is the one-line refusal. */
export function requireNativeUws(useFallback: boolean = isFallbackRequested(process.env.UWS_USE_FALLBACK)): Uws {
  refuseFallback(useFallback);
  loaded ??= loadUws(undefined, undefined, undefined, useFallback);
  return loaded.uws;
}

/** Which build this process loaded (for logs and build info), or null before requireNativeUws(). */
export function loadedUwsBuild(): { pkg: string; uwsVersion: string; binary: string } | null {
  return loaded && { pkg: loaded.build.pkg, uwsVersion: loaded.build.uwsVersion, binary: loaded.binary };
}

/** `uWS.DISABLED` without importing a package at module load (the old one prints fallback warnings on newer Node). */
export const UWS_COMPRESSION_DISABLED = 0 as Uws["DISABLED"];
