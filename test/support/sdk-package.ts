// Helpers for testing the SDK as its users get it (issue 13): `npm pack` of client/, installed into a fresh folder
// outside the repository, run there with plain node, and its module graph as a bundler sees it.
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { ROOT } from "./paths.js";

const exec = promisify(execFile);

export const CLIENT_DIR = path.join(ROOT, "client");
export const FIXTURES = path.join(ROOT, "test/fixtures/sdk-consumer");
export const PACKAGE_NAME = "@zent/registrar-client";

type Pkg = { name: string; version: string; dependencies?: Record<string, string>; peerDependencies?: Record<string, string> };
export const readJson = <T = Pkg>(file: string): T => JSON.parse(readFileSync(file, "utf8")) as T;

/**
 * The environment for child npm and node processes: no `npm_*` variables inherited from an outer `npm test`
 * (they would point npm at this repository's workspace), but the same cache, so installs work offline.
 */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.toLowerCase().startsWith("npm_")) env[k] = v;
  for (const k of ["npm_config_cache", "npm_config_registry", "npm_config_userconfig"]) if (process.env[k]) env[k] = process.env[k];
  return { ...env, NODE_OPTIONS: "", ...extra };
}

/** Runs a command without blocking this process (the registrar under test lives in it); throws with its output. */
export async function run(cmd: string, args: string[], cwd: string, extraEnv: Record<string, string> = {}, timeoutMs = 60_000) {
  try {
    return await exec(cmd, args, { cwd, env: childEnv(extraEnv), timeout: timeoutMs, maxBuffer: 16 << 20 });
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    const tail = (text = "") => (text.length > 4000 ? `…${text.slice(-4000)}` : text);
    throw new Error(`${cmd} ${args.join(" ")} failed in ${cwd}: ${e.message.split("\n")[0]}\n${tail(e.stdout)}\n${tail(e.stderr)}`);
  }
}

/** `npm pack` of client/ (its prepack script builds dist/ first); returns the tarball's path. */
export async function packClient(dest: string): Promise<string> {
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", dest], CLIENT_DIR, {}, 120_000);
  const [info] = JSON.parse(stdout) as { filename: string }[];
  return path.join(dest, info.filename);
}

/** A fresh consumer project in a temp folder with the fixtures copied in and `specs` installed from npm's cache. */
export async function consumerProject(label: string, specs: string[]): Promise<string> {
  const dir = tempDir(label);
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: `sdk-consumer-${label}`, private: true, type: "module" }));
  cpSync(FIXTURES, dir, { recursive: true });
  // --prefer-offline: the SDK's own dependencies and `ws` are in the cache after the repository's `npm ci`, so this
  // needs no network; only a cold cache asks the npm registry.
  await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--no-package-lock", ...specs], dir, {}, 120_000);
  return dir;
}

/** The version of a package installed at the repository root, for installing the same one in a consumer project. */
export function rootVersion(name: string): string {
  return readJson(path.join(ROOT, "node_modules", name, "package.json")).version;
}

/** Names of every package installed in a consumer project (from npm's hidden lockfile). */
export function installedPackages(dir: string): string[] {
  const lock = readJson<{ packages: Record<string, unknown> }>(path.join(dir, "node_modules/.package-lock.json"));
  return Object.keys(lock.packages).map((p) => p.slice(p.lastIndexOf("node_modules/") + "node_modules/".length));
}

/** Runs a fixture script with node in a consumer project and parses the JSON line it prints last. */
export async function runScript<T>(dir: string, script: string, registrarUrl: string): Promise<T> {
  const { stdout } = await run(process.execPath, [script], dir, { REGISTRAR_URL: registrarUrl }, 30_000);
  const lines = stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as T;
}

export function tempDir(label: string): string {
  return mkdtempSync(path.join(tmpdir(), `zent-sdk-${label}-`));
}
