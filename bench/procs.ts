// Child processes of the harness: the registrar under test, the bare uWS ceiling server and load workers.
// Every child is tracked and killed when the harness exits, and every wait is bounded in time.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { LoadResult, LoadSpec } from "./load-worker.js";

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(BENCH_DIR, "..");
export const RESULTS_DIR = path.join(BENCH_DIR, "results");
export const LOG_DIR = path.join(RESULTS_DIR, "logs");
const GC_HOOK = path.join(BENCH_DIR, "gc-hook.mjs");

const children = new Set<ChildProcess>();
function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}
/** Kills every child still running (each by its own pid). */
export function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
}
process.on("exit", killAll);
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function httpGet(url: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text() };
}

export type Registrar = {
  name: string;
  url: string;
  pid: number;
  logFile: string;
  /** Spawn to first successful GET /v1/health, ms. */
  readyMs: number;
  /** From the log (LOG_LEVEL=info only): spawn to the "registrar listening" line, and the "directory loaded" line. */
  listeningMs: number | null;
  loaded: { servers: number; ms: number } | null;
  spawnedAtMs: number;
  child: ChildProcess;
  metrics(): Promise<Map<string, number>>;
  gc(): Promise<void>;
  stop(): Promise<void>;
};

export type RegistrarOptions = {
  name: string;
  databaseUrl: string;
  logLevel: "info" | "warn";
  env?: Record<string, string>;
  startTimeoutMs?: number;
  cpuProf?: boolean;
};

/**
 * Which registrar build to run: `tsx` (default: node --import tsx src/main.ts), `dist` (dist/src/main.js, after
 * npm run build) or `build` (tsc into bench/results/dist first: plain JS with real line numbers, for profiles).
 */
const RUNTIME = process.env.BENCH_RUNTIME === "dist" || process.env.BENCH_RUNTIME === "build" ? process.env.BENCH_RUNTIME : "tsx";
const PRIVATE_DIST = path.join(RESULTS_DIR, "dist");
let built = false;

function ensureBuilt(): void {
  if (built) return;
  // Type errors elsewhere in the tree still emit JS; only a missing output is fatal.
  spawnSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json", "--outDir", PRIVATE_DIST], { cwd: ROOT, stdio: "ignore", timeout: 300_000 });
  if (!existsSync(path.join(PRIVATE_DIST, "src/main.js"))) throw new Error("tsc did not produce bench/results/dist/src/main.js");
  built = true;
}

export async function startRegistrar(o: RegistrarOptions): Promise<Registrar> {
  mkdirSync(LOG_DIR, { recursive: true });
  const port = await freePort();
  const logFile = path.join(LOG_DIR, `${o.name}.log`);
  const fd = openSync(logFile, "w");
  const nodeArgs = ["--max-old-space-size=8192", "--expose-gc"];
  // One file per thread (tsx runs its loader hooks on a second thread): the main thread's is the busiest.
  if (o.cpuProf) nodeArgs.push("--cpu-prof", `--cpu-prof-dir=${path.join(RESULTS_DIR, "prof", o.name)}`);
  if (RUNTIME === "build") ensureBuilt();
  const entry =
    RUNTIME === "dist" ? ["--enable-source-maps", "--import", GC_HOOK, "dist/src/main.js"]
    : RUNTIME === "build" ? ["--import", GC_HOOK, path.join(PRIVATE_DIST, "src/main.js")]
    : ["--import", "tsx", "--import", GC_HOOK, "src/main.ts"];
  const spawnedAtMs = Date.now();
  const t0 = performance.now();
  const child = track(
    spawn(process.execPath, [...nodeArgs, ...entry], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATABASE_URL: o.databaseUrl,
        PORT: String(port),
        HOST: "127.0.0.1",
        REGISTRAR_ID: "reg.bench.test",
        NODE_ID: "bench",
        RATE_LIMIT_REGISTER: "off",
        RATE_LIMIT_RATE: "off",
        RATE_LIMIT_LIST: "off",
        // The heartbeat load rotates through its domains faster than RATE_LIMIT_HEARTBEAT's 2 per second each.
        RATE_LIMIT_HEARTBEAT: "off",
        RATE_LIMIT_WRITE: "off",
        WS_RATE_LIMIT: "off",
        LOG_LEVEL: o.logLevel,
        ...o.env,
      },
      stdio: ["ignore", fd, fd],
    }),
  );
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let dead = false;
  void exited.then(() => (dead = true));
  const url = `http://127.0.0.1:${port}`;
  const deadline = t0 + (o.startTimeoutMs ?? 120_000);
  let readyMs = -1;
  while (performance.now() < deadline) {
    if (dead) throw new Error(`registrar ${o.name} exited before listening:\n${tail(logFile)}`);
    try {
      const r = await httpGet(`${url}/v1/health`, 2000);
      if (r.status === 200 || r.status === 503) {
        readyMs = performance.now() - t0;
        break;
      }
    } catch {
      // not listening yet
    }
    await sleep(20);
  }
  if (readyMs < 0) {
    child.kill("SIGKILL");
    throw new Error(`registrar ${o.name} did not listen within ${o.startTimeoutMs ?? 120_000} ms:\n${tail(logFile)}`);
  }
  let listeningMs: number | null = null;
  let loaded: Registrar["loaded"] = null;
  if (o.logLevel === "info") {
    // pino writes asynchronously: give the start-up lines a moment to reach the file.
    for (let i = 0; i < 50 && listeningMs === null; i++) {
      for (const line of readFileSync(logFile, "utf8").split("\n")) {
        if (!line.startsWith("{")) continue;
        const j = JSON.parse(line) as { msg?: string; time?: string; servers?: number; ms?: number };
        if (j.msg === "directory loaded") loaded = { servers: j.servers ?? -1, ms: j.ms ?? -1 };
        if (j.msg === "registrar listening" && j.time) listeningMs = Date.parse(j.time) - spawnedAtMs;
      }
      if (listeningMs === null) await sleep(20);
    }
  }
  return {
    name: o.name,
    url,
    pid: child.pid!,
    logFile,
    readyMs,
    listeningMs,
    loaded,
    spawnedAtMs,
    child,
    metrics: () => scrape(`${url}/metrics`),
    gc: async () => {
      child.kill("SIGUSR2");
      await sleep(400);
    },
    stop: async () => {
      if (dead) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(t);
    },
  };
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-30).join("\n");
  } catch {
    return "";
  }
}

/** Prometheus text → map of `name{labels}` (and bare `name` for unlabelled series) to value. */
export async function scrape(url: string): Promise<Map<string, number>> {
  const r = await httpGet(url);
  const m = new Map<string, number>();
  for (const line of r.body.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

/** Sum of every series of a metric family member, e.g. registrar_heartbeats_total over all labels. */
export function metricSum(m: Map<string, number>, name: string): number {
  let s = 0;
  for (const [k, v] of m) if (k === name || k.startsWith(`${name}{`)) s += v;
  return s;
}

export type Bare = { url: string; pid: number; stop(): Promise<void> };

/** Waits for a child that prints one JSON line `{"port":N,…}` when it listens; rejects if it exits or times out. */
export function readyPort(child: ChildProcess, name: string, timeoutMs: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${name} did not start in ${timeoutMs / 1000} s`)), timeoutMs);
    let buf = "";
    child.stdout!.on("data", (d) => {
      buf += String(d);
      const i = buf.indexOf("\n");
      if (i >= 0) {
        clearTimeout(t);
        resolve(JSON.parse(buf.slice(0, i)).port);
      }
    });
    child.on("exit", () => reject(new Error(`${name} exited`)));
  });
}

export async function startBare(plainBody: string, qBody: string): Promise<Bare> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const plainFile = path.join(RESULTS_DIR, "bare-plain.json");
  const qFile = path.join(RESULTS_DIR, "bare-q.json");
  writeFileSync(plainFile, plainBody);
  writeFileSync(qFile, qBody);
  const child = track(
    spawn(process.execPath, ["--import", "tsx", path.join(BENCH_DIR, "bare-server.ts")], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, BARE_PLAIN_FILE: plainFile, BARE_Q_FILE: qFile },
      stdio: ["ignore", "pipe", "inherit"],
    }),
  );
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const port = await readyPort(child, "bare server", 20_000);
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** CPU seconds (user + system, all threads) a process has used so far, from /proc (Linux); NaN elsewhere. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100 on Linux)
  } catch {
    return NaN;
  }
}

/**
 * Runs one load worker process to completion (bounded: its own limits plus a hard kill here). With serverPid, the
 * server's CPU use during the measured run (after the worker's MEASURE_START line) is added to the result.
 */
export async function runLoad(spec: LoadSpec, serverPid?: number): Promise<LoadResult> {
  const load1 = os.loadavg()[0];
  const child = track(
    spawn(process.execPath, ["--import", "tsx", path.join(BENCH_DIR, "load-worker.ts"), JSON.stringify(spec)], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ["ignore", "pipe", "inherit"],
    }),
  );
  let out = "";
  let cpu0 = NaN;
  let t0 = 0;
  let cpu1 = NaN;
  let t1 = 0;
  child.stdout!.on("data", (d) => {
    const before = out.length;
    out += String(d);
    if (serverPid !== undefined && Number.isNaN(cpu0) && out.indexOf("MEASURE_START\n", Math.max(0, before - 20)) >= 0) {
      cpu0 = cpuSeconds(serverPid);
      t0 = performance.now();
    } else if (serverPid !== undefined && !Number.isNaN(cpu0) && Number.isNaN(cpu1) && out.includes("{")) {
      // The result line arrives right after the measured run ends.
      cpu1 = cpuSeconds(serverPid);
      t1 = performance.now();
    }
  });
  const code = await new Promise<number | null>((resolve) => {
    const t = setTimeout(() => child.kill("SIGKILL"), (spec.warmupS + spec.durationS + 60) * 1000);
    child.on("exit", (c) => {
      clearTimeout(t);
      resolve(c);
    });
  });
  const line = out.trim().split("\n").pop();
  if (code !== 0 || !line || !line.startsWith("{")) throw new Error(`load worker failed (exit ${code}): ${out}`);
  const result = JSON.parse(line) as LoadResult;
  result.loadavg1 = load1;
  if (t1 > t0) result.serverCpu = (cpu1 - cpu0) / ((t1 - t0) / 1000);
  return result;
}
