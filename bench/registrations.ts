// Registrations through the API and the resident memory they cost (issue 14): POST /v1/servers with a fixed number
// in flight over keep-alive connections, then RSS growth per server between two directory sizes after an idle
// period. `tsx bench/registrations.ts` runs both alone against a fresh database at LOG_LEVEL=info; bench/run.ts
// calls the same functions.
//   REG_BENCH_COUNT (5000), REG_BENCH_IN_FLIGHT (64), REG_BENCH_RSS_FROM/TO (10000/100000), REG_BENCH_IDLE_S (10)
import http from "node:http";
import { readFileSync } from "node:fs";
import { cpuSeconds, sleep, startRegistrar, type Registrar } from "./procs.js";
import { createBenchDb, dbUrl, dropBenchDb } from "./seed.js";

export type RegistrationRun = { count: number; ok: number; failed: number; seconds: number; rps: number; cpuUsPerReg: number; p50ms: number; p99ms: number };

const DESCRIPTION = "A community server for people who like to talk about things, with voice channels and a friendly crowd.";

function body(domain: string, i: number): string {
  return JSON.stringify({
    domain, name: `Bench server ${i}`, description: i % 3 === 0 ? DESCRIPTION : undefined,
    api_url: `https://${domain}/api`, ws_url: `wss://${domain}/ws`,
  });
}

/** Registers domains `prefix<from>.bench.test` … `prefix<from+count-1>…` with `inFlight` requests outstanding. */
export async function registerMany(url: string, prefix: string, from: number, count: number, inFlight: number, serverPid?: number): Promise<RegistrationRun> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
  const target = new URL("/v1/servers", url);
  const lat: number[] = [];
  let next = from;
  let ok = 0;
  let failed = 0;
  const one = (i: number) =>
    new Promise<void>((resolve) => {
      const payload = body(`${prefix}${i}.bench.test`, i);
      const t = performance.now();
      const req = http.request(target, { method: "POST", agent, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } }, (res) => {
        res.resume();
        res.on("end", () => {
          lat.push(performance.now() - t);
          if (res.statusCode === 201) ok++;
          else failed++;
          resolve();
        });
      });
      req.on("error", () => {
        failed++;
        resolve();
      });
      req.end(payload);
    });
  const cpu0 = serverPid ? cpuSeconds(serverPid) : 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < from + count) await one(next++);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = serverPid ? cpuSeconds(serverPid) - cpu0 : 0;
  agent.destroy();
  lat.sort((a, b) => a - b);
  const pct = (p: number) => (lat.length ? Math.round(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] * 100) / 100 : 0);
  return { count, ok, failed, seconds, rps: ok / seconds, cpuUsPerReg: ok ? (cpu * 1e6) / ok : 0, p50ms: pct(0.5), p99ms: pct(0.99) };
}

/** Resident set size of a process, bytes (from /proc). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

export type RssRun = { from: number; to: number; rssFrom: number; rssTo: number; perServer: number; idleS: number; registrations: RegistrationRun };

/** Registers up to `from`, waits idle, reads RSS; registers up to `to`, waits idle, reads RSS again. */
export async function rssGrowth(reg: Registrar, from: number, to: number, idleS: number, inFlight = 64): Promise<RssRun> {
  await registerMany(reg.url, "rss", 0, from, inFlight);
  await sleep(idleS * 1000);
  const rssFrom = rssBytes(reg.pid);
  const registrations = await registerMany(reg.url, "rss", from, to - from, inFlight, reg.pid);
  await sleep(idleS * 1000);
  const rssTo = rssBytes(reg.pid);
  return { from, to, rssFrom, rssTo, perServer: (rssTo - rssFrom) / (to - from), idleS, registrations };
}

async function main(): Promise<void> {
  const env = process.env;
  const count = Number(env.REG_BENCH_COUNT ?? 5000);
  const inFlight = Number(env.REG_BENCH_IN_FLIGHT ?? 64);
  const from = Number(env.REG_BENCH_RSS_FROM ?? 10_000);
  const to = Number(env.REG_BENCH_RSS_TO ?? 100_000);
  const idleS = Number(env.REG_BENCH_IDLE_S ?? 10);
  const db = `zent_bench_${process.pid}_reg`;
  await createBenchDb(db);
  try {
    const reg = await startRegistrar({ name: "registrations", databaseUrl: dbUrl(db), logLevel: "info", cpuProf: env.BENCH_CPU_PROF === "1" });
    try {
      const r = await registerMany(reg.url, "reg", 0, count, inFlight, reg.pid);
      console.log(JSON.stringify({ registrations: r }));
      if (to > 0) console.log(JSON.stringify({ rss: await rssGrowth(reg, from, to, idleS, inFlight) }));
    } finally {
      await reg.stop();
    }
  } finally {
    await dropBenchDb(db);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main();
  process.exit(0);
}
