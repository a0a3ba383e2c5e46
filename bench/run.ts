// `npm run bench`: seeds MySQL, starts the registrar (and a bare uWebSockets.js ceiling server) as child processes,
// drives them from separate load-worker processes, prints a table and writes bench/results/latest.json.
//
//   BENCH_QUICK=1        10k servers, 3 s runs (for trying the harness)
//   BENCH_SKIP_1M=1      skip the 1,000,000-server memory / start-up step (BENCH_SKIP_LATENESS=1: the timer step)
//   BENCH_SERVERS, BENCH_SERVERS_BIG, BENCH_HB_SERVERS, BENCH_LATENESS_SERVERS   sizes
//   BENCH_DURATION_S, BENCH_WARMUP_S, BENCH_CONNECTIONS, BENCH_MAX_REQUESTS        load shape
//   BENCH_ATTACK_CONNECTIONS  connections of the listing-attack mix (default 6; issue 8)
//   BENCH_CLIENT=autocannon  drive load with autocannon instead of the lean raw keep-alive client (bench/load-worker.ts)
//   BENCH_CPU_PROF=1     registrar children write .cpuprofile files to bench/results/prof/
//   BENCH_RUNTIME=dist   run dist/src/main.js (after npm run build) instead of src/main.ts through tsx;
//   BENCH_RUNTIME=build  compile with tsc into bench/results/dist first and run that
//   BENCH_KEEP_DB=1      keep the zent_bench_* databases afterwards
//   BENCH_ONLY=<steps>   only the seed and the named steps, comma-separated (web, memory, listing, registrations,
//                        listing-attack, lateness, big); no cluster/ws/federation benches after
//   BENCH_WEB_ROUNDS=N   interleaved rounds of the web page step (default 2)
//   BENCH_WAIT_QUIET_S=N wait up to N s for the 1-minute load average to drop below BENCH_QUIET_LOAD (default 1.5)
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as hdr from "hdr-histogram-js";
import WebSocket from "ws";
import { Q_TERM, rowOf } from "./data.js";
import { attackPaths, runAttack, type AttackResult } from "./listing-attack.js";
import type { LoadResult } from "./load-worker.js";
import { httpGet, metricSum, RESULTS_DIR, runLoad, sleep, startBare, startRegistrar, type Registrar } from "./procs.js";
import { rssGrowth } from "./registrations.js";
import { connect, createBenchDb, dbUrl, dropBenchDb, seedServers } from "./seed.js";
import { webPageBench } from "./web-page.js";

const env = process.env;
const int = (name: string, dflt: number) => (env[name] ? Math.max(1, Math.floor(Number(env[name]))) : dflt);
const QUICK = env.BENCH_QUICK === "1";
/** BENCH_ONLY: the seed and these steps only (each step's hook checks `only("name")`). */
const ONLY = env.BENCH_ONLY ? new Set(env.BENCH_ONLY.split(",").map((x) => x.trim())) : null;
const only = (step: string) => ONLY === null || ONLY.has(step);
const S = {
  quick: QUICK,
  servers: int("BENCH_SERVERS", QUICK ? 10_000 : 100_000),
  serversBig: int("BENCH_SERVERS_BIG", QUICK ? 100_000 : 1_000_000),
  skipBig: env.BENCH_SKIP_1M === "1",
  skipLateness: env.BENCH_SKIP_LATENESS === "1",
  hbServers: 0,
  latenessServers: 0,
  latenessWindowS: 10,
  connections: int("BENCH_CONNECTIONS", 64),
  hbConnections: int("BENCH_HB_CONNECTIONS", 64),
  attackConnections: int("BENCH_ATTACK_CONNECTIONS", 6),
  only: env.BENCH_ONLY ?? null,
  durationS: int("BENCH_DURATION_S", QUICK ? 3 : 15),
  warmupS: int("BENCH_WARMUP_S", QUICK ? 1 : 3),
  maxRequests: int("BENCH_MAX_REQUESTS", 5_000_000),
  cpuProf: env.BENCH_CPU_PROF === "1",
  keepDb: env.BENCH_KEEP_DB === "1",
  client: env.BENCH_CLIENT === "autocannon" ? ("autocannon" as const) : ("raw" as const),
  runtime: env.BENCH_RUNTIME === "dist" || env.BENCH_RUNTIME === "build" ? env.BENCH_RUNTIME : "tsx",
  /** Production settings (issue 14): listings and heartbeats run at info (one log line per request). */
  logLevel: env.BENCH_LOG_LEVEL === "warn" ? ("warn" as const) : ("info" as const),
  /** Registrations through the API: RSS is read at regFrom and at regTo registered servers. */
  regFrom: int("BENCH_REG_FROM", QUICK ? 2_000 : 10_000),
  regTo: int("BENCH_REG_TO", QUICK ? 10_000 : 100_000),
  regInFlight: int("BENCH_REG_IN_FLIGHT", 64),
  regIdleS: int("BENCH_REG_IDLE_S", QUICK ? 3 : 10),
};
S.hbServers = Math.min(S.servers, int("BENCH_HB_SERVERS", 10_000));
S.latenessServers = int("BENCH_LATENESS_SERVERS", S.servers);

const PLAIN_PATH = "/v1/servers?limit=50&sort=users";
const Q_PATH = `/v1/servers?limit=50&sort=users&q=${Q_TERM}`;
const LISTING_OFFLINE_AFTER_S = "86400"; // no offline timer fires during the listing / heartbeat / memory runs

const tag = `${process.pid}`;
const dbs = { reg: `zent_bench_${tag}_reg`, main: `zent_bench_${tag}_main`, empty: `zent_bench_${tag}_empty`, late: `zent_bench_${tag}_late`, big: `zent_bench_${tag}_big` };

type Row = { section: string; metric: string; value: string; target: string; met: string };
const rows: Row[] = [];
const out: Record<string, unknown> = { settings: S, startedAt: new Date().toISOString() };
const errors: string[] = [];

const log = (msg: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const ms = (us: number) => (us / 1000).toFixed(2);
const f0 = (n: number) => Math.round(n).toLocaleString("en-US");
const kib = (b: number) => `${(b / 1024).toFixed(2)} KiB`;
const yes = (b: boolean) => (b ? "met" : "NOT MET");

async function phase(name: string, fn: () => Promise<void>): Promise<void> {
  const t = performance.now();
  log(`${name}…`);
  try {
    await fn();
    log(`${name} done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  } catch (err) {
    const msg = `${name} failed: ${(err as Error).stack ?? err}`;
    errors.push(msg);
    log(msg);
  }
}

async function machine() {
  let mysqlVersion = "?";
  try {
    const c = await connect();
    const [r] = (await c.query("SELECT VERSION() AS v")) as unknown as [{ v: string }[]];
    mysqlVersion = r[0].v;
    await c.end();
  } catch {
    // reported as "?"
  }
  // The code under test: others change src/ while benches run, so say exactly which tree was measured.
  const git = (...args: string[]) => {
    try {
      return execFileSync("git", args, { cwd: path.resolve(RESULTS_DIR, "../.."), encoding: "utf8" }).trim();
    } catch {
      return "?";
    }
  };
  const dirty = git("status", "--porcelain", "--", "src", "actors", "transport", "migrations").split("\n").filter(Boolean);
  return {
    commit: `${git("rev-parse", "--short", "HEAD")} ${git("log", "-1", "--format=%s").slice(0, 100)}`,
    uncommittedFilesUnderTest: dirty.length,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "?",
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    mysql: mysqlVersion,
    loadavgAtStart: os.loadavg().map((x) => x.toFixed(2)),
  };
}

/** Heap used after a forced full GC (the registrar child preloads bench/gc-hook.mjs), min of three readings. */
async function heapAfterGc(reg: Registrar): Promise<{ heapUsed: number; rss: number }> {
  let heapUsed = Infinity;
  let rss = 0;
  for (let i = 0; i < 3; i++) {
    await reg.gc();
    const m = await reg.metrics();
    heapUsed = Math.min(heapUsed, m.get("nodejs_heap_size_used_bytes") ?? Infinity);
    rss = m.get("process_resident_memory_bytes") ?? 0;
  }
  return { heapUsed, rss };
}

/** Asks for every sort once and the q listing; returns each first-request latency. */
async function warm(reg: Registrar): Promise<Record<string, number>> {
  const firsts: Record<string, number> = {};
  for (const sort of ["users", "channels", "name", "created", "last_seen", "rating"]) {
    const t = performance.now();
    const r = await httpGet(`${reg.url}/v1/servers?limit=50&sort=${sort}`, 60_000);
    if (r.status !== 200) throw new Error(`sort=${sort}: ${r.status} ${r.body.slice(0, 200)}`);
    firsts[`sort=${sort}`] = Math.round((performance.now() - t) * 10) / 10;
  }
  const t = performance.now();
  await httpGet(`${reg.url}${Q_PATH}`, 60_000);
  firsts[`q=${Q_TERM}`] = Math.round((performance.now() - t) * 10) / 10;
  return firsts;
}

function loadSummary(r: LoadResult) {
  return {
    rps: Math.round(r.rps),
    p50ms: Number(ms(r.latencyUs.p50)),
    p99ms: Number(ms(r.latencyUs.p99)),
    p999ms: Number(ms(r.latencyUs.p999)),
    maxms: Number(ms(r.latencyUs.max)),
    requests: r.requests2xx,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    bytesPerResponse: Math.round(r.bytesPerResponse),
    seconds: Number(r.seconds.toFixed(2)),
    serverCpu: r.serverCpu === undefined ? null : Number(r.serverCpu.toFixed(3)),
    generatorCpu: Number(r.generatorCpu.toFixed(3)),
    serverCpuUsPerRequest: r.serverCpu === undefined ? null : Math.round((1e6 * r.serverCpu) / r.rps),
    generatorCpuUsPerRequest: Math.round((1e6 * r.generatorCpu) / r.rps),
    engine: r.engine,
    loadavg1: r.loadavg1 === undefined ? null : Number(r.loadavg1.toFixed(2)),
  };
}

const getSpec = (url: string, p: string) => ({
  url, connections: S.connections, warmupS: S.warmupS, durationS: S.durationS, maxRequests: S.maxRequests, mode: "get" as const, path: p, engine: S.client,
});

async function main(): Promise<void> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const waitS = int("BENCH_WAIT_QUIET_S", 0);
  const quiet = Number(env.BENCH_QUIET_LOAD ?? 1.5);
  for (const until = Date.now() + waitS * 1000; waitS > 0 && os.loadavg()[0] >= quiet && Date.now() < until; ) {
    log(`waiting for a quieter machine: load average ${os.loadavg()[0].toFixed(2)} ≥ ${quiet}`);
    await sleep(15_000);
  }
  out.machine = await machine();
  log(`settings ${JSON.stringify(S)}`);

  // ---------------------------------------------------------------- seeding
  let mainSeeded = false;
  await phase(`seed ${f0(S.servers)} servers`, async () => {
    await createBenchDb(dbs.main);
    const r = await seedServers(dbs.main, S.servers, "mixed");
    out.seedMain = { servers: r.servers, ratings: r.ratings, ms: Math.round(r.ms) };
    rows.push({ section: "seed", metric: `seed ${f0(S.servers)} servers (+${f0(r.ratings)} ratings)`, value: `${(r.ms / 1000).toFixed(1)} s`, target: "-", met: "-" });
    mainSeeded = true;
  });
  if (!mainSeeded) return;

  // ---------------------------------------------------------------- the HTML directory page next to the JSON listing
  if (only("web")) await phase(`web page at ${f0(S.servers)}: GET / next to the JSON listing, plain and gzip`, async () => {
    const web = await webPageBench(dbUrl(dbs.main), { ...S, offlineAfterS: LISTING_OFFLINE_AFTER_S, rounds: int("BENCH_WEB_ROUNDS", 2) }, log);
    out.webPage = web.result;
    rows.push(...web.rows);
  });

  // ---------------------------------------------------------------- memory baseline (empty directory)
  let baseline: { heapUsed: number; rss: number } | null = null;
  const step = only;
  if (step("memory")) await phase("baseline: empty directory", async () => {
    await createBenchDb(dbs.empty);
    const reg = await startRegistrar({ name: "empty", databaseUrl: dbUrl(dbs.empty), logLevel: "info", cpuProf: S.cpuProf });
    try {
      await sleep(1000);
      await warm(reg);
      baseline = await heapAfterGc(reg);
      out.baseline = { ...baseline, readyMs: Math.round(reg.readyMs), listeningMs: reg.listeningMs };
    } finally {
      await reg.stop();
    }
  });

  const memoryAt = async (reg: Registrar, n: number, key: string) => {
    await sleep(1000);
    // Since issue 8 every sort index fills in the background after load: measure once they are all there.
    const indexedBy = Date.now() + 300_000;
    while (((await reg.metrics()).get("registrar_directory_background_jobs") ?? 0) > 0 && Date.now() < indexedBy) await sleep(250);
    const idle = await heapAfterGc(reg);
    const firsts = await warm(reg);
    const warmHeap = await heapAfterGc(reg);
    const base = baseline ?? { heapUsed: 0, rss: 0 };
    const perIdle = (idle.heapUsed - base.heapUsed) / n;
    const perWarm = (warmHeap.heapUsed - base.heapUsed) / n;
    out[key] = {
      servers: n,
      readyMs: Math.round(reg.readyMs),
      listeningMs: reg.listeningMs,
      loaded: reg.loaded,
      heapIdle: idle.heapUsed,
      heapWarm: warmHeap.heapUsed,
      rssWarm: warmHeap.rss,
      bytesPerServerIdle: Math.round(perIdle),
      bytesPerServerWarm: Math.round(perWarm),
      firstRequestMs: firsts,
    };
    rows.push({ section: "memory", metric: `heap per server at ${f0(n)}, after load and the background fill of every sort index`, value: kib(perIdle), target: "≤ 2 KiB", met: yes(perIdle <= 2048) });
    rows.push({ section: "memory", metric: `heap per server at ${f0(n)}, then one request per sort and the q listing`, value: kib(perWarm), target: "≤ 2 KiB", met: yes(perWarm <= 2048) });
    rows.push({ section: "memory", metric: `RSS at ${f0(n)} (warm)`, value: `${(warmHeap.rss / 2 ** 20).toFixed(0)} MiB`, target: "-", met: "-" });
    log(`${key}: ${JSON.stringify(out[key])}`);
  };

  // ---------------------------------------------------------------- main DB, LOG_LEVEL=info: start-up, memory, info listing
  let plainBytes = 0;
  let qBytes = 0;
  let startup100k = 10_000;
  const bare: { plain: LoadResult[]; q: LoadResult[]; hb?: LoadResult } = { plain: [], q: [] };
  let bareSrv: Awaited<ReturnType<typeof startBare>> | null = null;
  const listing: Record<string, LoadResult> = {};

  if (step("listing")) await phase(`registrar (LOG_LEVEL=info) at ${f0(S.servers)}: start-up, memory, listing with request logs`, async () => {
    const reg = await startRegistrar({
      name: "main-info", databaseUrl: dbUrl(dbs.main), logLevel: "info", cpuProf: S.cpuProf, env: { OFFLINE_AFTER_S: LISTING_OFFLINE_AFTER_S },
    });
    try {
      startup100k = reg.listeningMs ?? reg.readyMs;
      rows.push({ section: "start-up", metric: `start-up at ${f0(S.servers)} (spawn → "registrar listening")`, value: `${(startup100k / 1000).toFixed(2)} s`, target: "-", met: "-" });
      await memoryAt(reg, S.servers, "memoryMain");
      const plain = await httpGet(`${reg.url}${PLAIN_PATH}`);
      const withQ = await httpGet(`${reg.url}${Q_PATH}`);
      plainBytes = Buffer.byteLength(plain.body);
      qBytes = Buffer.byteLength(withQ.body);
      const qTotal = (JSON.parse(withQ.body) as { total: number }).total;
      out.listingBodies = { plainBytes, qBytes, qTerm: Q_TERM, qMatches: qTotal, qMatchFraction: qTotal / S.servers };
      log(`listing body ${plainBytes} B, q body ${qBytes} B, q=${Q_TERM} matches ${qTotal} (${((100 * qTotal) / S.servers).toFixed(2)} %)`);
      // The ceiling answers the very bytes the registrar answered, pre-encoded: same size, same content.
      bareSrv = await startBare(plain.body, withQ.body);
      bare.plain.push(await runLoad(getSpec(bareSrv.url, PLAIN_PATH), bareSrv.pid));
      log(`bare plain #1 ${JSON.stringify(loadSummary(bare.plain[0]))}`);
      bare.q.push(await runLoad(getSpec(bareSrv.url, Q_PATH), bareSrv.pid));
      log(`bare q #1 ${JSON.stringify(loadSummary(bare.q[0]))}`);
      listing.plainInfo = await runLoad(getSpec(reg.url, PLAIN_PATH), reg.pid);
      log(`registrar plain (info logs) ${JSON.stringify(loadSummary(listing.plainInfo))}`);
    } finally {
      await reg.stop();
    }
  });

  // ---------------------------------------------------------------- main DB, production logging: listing, q listing, heartbeats
  if (step("listing")) await phase(`registrar (LOG_LEVEL=${S.logLevel}) at ${f0(S.servers)}: listing, q listing, heartbeats`, async () => {
    const reg = await startRegistrar({
      name: `main-${S.logLevel}`, databaseUrl: dbUrl(dbs.main), logLevel: S.logLevel, cpuProf: S.cpuProf, env: { OFFLINE_AFTER_S: LISTING_OFFLINE_AFTER_S },
    });
    try {
      await warm(reg);
      listing.plain = await runLoad(getSpec(reg.url, PLAIN_PATH), reg.pid);
      log(`registrar plain ${JSON.stringify(loadSummary(listing.plain))}`);
      listing.q = await runLoad(getSpec(reg.url, Q_PATH), reg.pid);
      log(`registrar q ${JSON.stringify(loadSummary(listing.q))}`);
      // The same pages with a distinct ignored parameter per request: what a listing costs when no cached page can
      // answer (e.g. while heartbeats keep changing user counts).
      listing.plainUncached = await runLoad({ ...getSpec(reg.url, PLAIN_PATH), cacheBust: true }, reg.pid);
      log(`registrar plain, uncached ${JSON.stringify(loadSummary(listing.plainUncached))}`);
      listing.qUncached = await runLoad({ ...getSpec(reg.url, Q_PATH), cacheBust: true }, reg.pid);
      log(`registrar q, uncached ${JSON.stringify(loadSummary(listing.qUncached))}`);

      // Cold q: terms nobody asked for yet, so each one scans the whole directory once (informational).
      hdr.initWebAssemblySync();
      const cold = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
      const terms = ["amber", "cove", "jazz", "otter", "pixel", "quarry", "synth", "tide", "willow", "zent.", "harbor", "chess", "gg", "mesa", "owl", "fern", "comet", "reef", "mill", "lodge"];
      for (const term of terms) {
        const t = performance.now();
        const r = await httpGet(`${reg.url}/v1/servers?limit=50&sort=users&q=${encodeURIComponent(term)}`, 60_000);
        if (r.status === 200) cold.recordValue(Math.max(1, Math.round((performance.now() - t) * 1000)));
      }
      out.coldQ = { terms: terms.length, p50ms: Number(ms(cold.getValueAtPercentile(50))), maxms: Number(ms(cold.maxValue)) };
      cold.destroy();

      // Heartbeats: HB servers that are online, rotating per request over HB connections.
      const now = Date.now();
      const domains: string[] = [];
      for (let i = 0; i < S.servers && domains.length < S.hbServers; i++) {
        const r = rowOf(i, now, "mixed");
        if (r.status === "online") domains.push(r.domain);
      }
      const file = path.join(RESULTS_DIR, "hb-domains.txt");
      writeFileSync(file, domains.join("\n") + "\n");
      const hbSpec = (url: string) => ({
        url, connections: S.hbConnections, warmupS: S.warmupS, durationS: S.durationS, maxRequests: S.maxRequests, mode: "heartbeat" as const, domainsFile: file, engine: S.client,
      });

      if (bareSrv) {
        // The heartbeat ceiling: the same requests, answered with a constant reply after reading the body.
        bare.hb = await runLoad(hbSpec(bareSrv.url), bareSrv.pid);
        out.bareHeartbeat = loadSummary(bare.hb);
        log(`bare heartbeats ${JSON.stringify(loadSummary(bare.hb))}`);
        bare.plain.push(await runLoad(getSpec(bareSrv.url, PLAIN_PATH), bareSrv.pid));
        log(`bare plain #2 ${JSON.stringify(loadSummary(bare.plain[1]))}`);
        bare.q.push(await runLoad(getSpec(bareSrv.url, Q_PATH), bareSrv.pid));
        log(`bare q #2 ${JSON.stringify(loadSummary(bare.q[1]))}`);
        await bareSrv.stop();
        bareSrv = null;
      }

      const before = await reg.metrics();
      const hb = await runLoad(hbSpec(reg.url), reg.pid);
      await sleep(1500); // one flush interval (1 s) and a margin: the last dirty records reach MySQL
      const after = await reg.metrics();
      const d = (name: string) => metricSum(after, name) - metricSum(before, name);
      const heartbeats = d("registrar_heartbeats_total");
      const flushRows = d("registrar_write_behind_flush_rows_sum");
      const flushes = d("registrar_write_behind_flush_rows_count");
      const flushSeconds = d("registrar_write_behind_flush_seconds_sum");
      out.heartbeat = {
        ...loadSummary(hb),
        servers: domains.length,
        connections: S.hbConnections,
        heartbeatsCounted: heartbeats,
        flushRows,
        flushes,
        rowsPerHeartbeat: heartbeats ? flushRows / heartbeats : null,
        rowsPerFlush: flushes ? flushRows / flushes : null,
        msPerFlush: flushes ? (1000 * flushSeconds) / flushes : null,
        storeErrors: d("registrar_store_errors_total"),
      };
      log(`heartbeats ${JSON.stringify(out.heartbeat)}`);
    } finally {
      await reg.stop();
      if (bareSrv) await (bareSrv as { stop(): Promise<void> }).stop();
    }
  });

  const cpuNote = (r: { serverCpu?: number | null; generatorCpu: number; loadavg1?: number | null; rps: number }) =>
    ` [server CPU ${r.serverCpu == null ? "?" : `${(100 * r.serverCpu).toFixed(0)} % = ${Math.round((1e6 * r.serverCpu) / r.rps)} µs/req`}, load gen ${(100 * r.generatorCpu).toFixed(0)} %; load avg ${r.loadavg1?.toFixed(1) ?? "?"}]`;
  const mean = (a: LoadResult[]) => (a.length ? a.reduce((s, r) => s + r.rps, 0) / a.length : NaN);
  const barePlain = mean(bare.plain);
  const bareQ = mean(bare.q);
  out.bare = { plain: bare.plain.map(loadSummary), q: bare.q.map(loadSummary), plainMeanRps: Math.round(barePlain), qMeanRps: Math.round(bareQ) };
  out.listing = Object.fromEntries(Object.entries(listing).map(([k, v]) => [k, loadSummary(v)]));
  if (bare.plain.length) {
    rows.push({ section: "listing", metric: `bare uWS ceiling, ${plainBytes} B body (mean of ${bare.plain.length} runs)`, value: `${f0(barePlain)} req/s${bare.plain.length ? cpuNote(bare.plain[bare.plain.length - 1]) : ""}`, target: "-", met: "-" });
  }
  const listingRows = (r: LoadResult | undefined, label: string, ceiling: number, minRatio: number) => {
    if (!r) return;
    const ratio = r.rps / ceiling;
    rows.push({ section: "listing", metric: `${label}: req/s (ratio to bare)`, value: `${f0(r.rps)} (${(100 * ratio).toFixed(0)} %)${cpuNote(r)}`, target: `≥ ${minRatio * 100} % of bare`, met: yes(ratio >= minRatio) });
    rows.push({ section: "listing", metric: `${label}: p50 / p99 latency`, value: `${ms(r.latencyUs.p50)} / ${ms(r.latencyUs.p99)} ms`, target: "p99 < 10 ms", met: yes(r.latencyUs.p99 < 10_000) });
    if (r.non2xx || r.errors || r.timeouts) rows.push({ section: "listing", metric: `${label}: failures`, value: `${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`, target: "0", met: "NOT MET" });
  };
  listingRows(listing.plain, `GET ${PLAIN_PATH}`, barePlain, 0.5);
  if (bare.q.length) rows.push({ section: "listing", metric: `bare uWS ceiling, ${qBytes} B body (mean of ${bare.q.length} runs)`, value: `${f0(bareQ)} req/s${cpuNote(bare.q[bare.q.length - 1])}`, target: "-", met: "-" });
  listingRows(listing.q, `same with q=${Q_TERM} (1 % match, cached match set)`, bareQ, 0.25);
  listingRows(listing.plainUncached, `GET ${PLAIN_PATH}, response cache bypassed (distinct ignored &_bench=N per request)`, barePlain, 0.5);
  listingRows(listing.qUncached, `same with q=${Q_TERM}, response cache bypassed`, bareQ, 0.25);
  listingRows(listing.plainInfo, `GET ${PLAIN_PATH} with LOG_LEVEL=info (one log line per request)`, barePlain, 0.5);
  const coldQ = out.coldQ as { terms: number; p50ms: number; maxms: number } | undefined;
  if (coldQ) rows.push({ section: "listing", metric: `first request for a new q (a scan in slices between event-loop turns), ${coldQ.terms} terms, single client`, value: `p50 ${coldQ.p50ms} ms, max ${coldQ.maxms} ms`, target: "-", met: "-" });

  const hb = out.heartbeat as (ReturnType<typeof loadSummary> & { servers: number; rowsPerHeartbeat: number | null; rowsPerFlush: number | null; flushes: number; msPerFlush: number | null }) | undefined;
  if (hb) {
    rows.push({ section: "heartbeat", metric: `HTTP heartbeats, ${f0(hb.servers)} servers, ${S.hbConnections} connections`, value: `${f0(hb.rps)} /s${cpuNote(hb)}`, target: "≥ 20,000 /s", met: yes(hb.rps >= 20_000) });
    if (bare.hb) rows.push({ section: "heartbeat", metric: "bare uWS ceiling, same heartbeat requests (body read, constant reply)", value: `${f0(bare.hb.rps)} /s${cpuNote(bare.hb)}`, target: "-", met: "-" });
    rows.push({ section: "heartbeat", metric: "heartbeat p50 / p99 latency", value: `${hb.p50ms.toFixed(2)} / ${hb.p99ms.toFixed(2)} ms`, target: "-", met: "-" });
    const bound = hb.rps > 0 ? Math.min(1, hb.servers / hb.rps) : 1; // 1 s flush interval
    rows.push({
      section: "heartbeat",
      metric: `MySQL row writes per heartbeat (bound: ${f0(hb.servers)} distinct / ${f0(hb.rps)} per 1 s flush = ${bound.toFixed(3)})`,
      value: hb.rowsPerHeartbeat === null ? "n/a" : `${hb.rowsPerHeartbeat.toFixed(3)} (${f0(hb.rowsPerFlush ?? 0)} rows per flush, ${hb.flushes} flushes, ${(hb.msPerFlush ?? 0).toFixed(0)} ms each)`,
      target: "≤ the bound: one row per distinct server per flush",
      // Coalescing works when every flush writes each dirty server once: rows/heartbeat at (or under) the bound.
      // It is "far below 1" only when heartbeats per flush far exceed the distinct servers.
      met: hb.rowsPerHeartbeat === null ? "n/a" : yes(hb.rowsPerHeartbeat <= bound * 1.05 + 0.01 && (hb.rowsPerFlush ?? 0) <= hb.servers),
    });
    if (hb.non2xx || hb.errors || hb.timeouts) rows.push({ section: "heartbeat", metric: "heartbeat failures", value: `${hb.non2xx} non-2xx, ${hb.errors} errors, ${hb.timeouts} timeouts`, target: "0", met: "NOT MET" });
  }

  // ---------------------------------------------------------------- registrations through the API, RSS per server
  if (step("registrations")) await phase(`registrations through the API (${S.regInFlight} in flight), RSS ${f0(S.regFrom)} → ${f0(S.regTo)}`, async () => {
    await createBenchDb(dbs.reg);
    const reg = await startRegistrar({ name: "registrations", databaseUrl: dbUrl(dbs.reg), logLevel: S.logLevel, cpuProf: S.cpuProf });
    try {
      const r = await rssGrowth(reg, S.regFrom, S.regTo, S.regIdleS, S.regInFlight);
      out.registrations = r;
      log(`registrations ${JSON.stringify(r)}`);
      const g = r.registrations;
      rows.push({ section: "registrations", metric: `registrations through the API, ${S.regInFlight} in flight (${f0(S.regFrom)} → ${f0(S.regTo)} servers)`, value: `${f0(g.rps)} /s [${g.cpuUsPerReg.toFixed(0)} µs registrar CPU each; p50 / p99 ${g.p50ms} / ${g.p99ms} ms; ${g.failed} failed]`, target: "≥ 2,000 /s", met: yes(g.rps >= 2000 && g.failed === 0) });
      rows.push({ section: "memory", metric: `RSS growth per server, ${f0(S.regFrom)} → ${f0(S.regTo)} registered through the API, after ${S.regIdleS} s idle`, value: `${f0(r.perServer)} B (RSS ${(r.rssFrom / 2 ** 20).toFixed(0)} → ${(r.rssTo / 2 ** 20).toFixed(0)} MiB)`, target: "≤ 3,000 B", met: yes(r.perServer <= 3000) });
    } finally {
      await reg.stop();
      await dropBenchDb(dbs.reg).catch(() => {});
    }
  });

  // ---------------------------------------------------------------- listing attack (issue 8, contract §10)
  if (step("listing-attack")) await phase(`listing attack at ${f0(S.servers)}: heartbeat latency and event-loop stalls with and without it`, async () => {
    const reg = await startRegistrar({
      name: "attack", databaseUrl: dbUrl(dbs.main), logLevel: S.logLevel, cpuProf: S.cpuProf, env: { OFFLINE_AFTER_S: LISTING_OFFLINE_AFTER_S, RATE_LIMIT_LIST: "off" },
    });
    try {
      const runMs = S.durationS * 1000;
      // Right after start: the sorts other than the default are still being indexed and no q has been seen yet.
      const attacked = await runAttack({ url: reg.url, connections: S.attackConnections, paths: attackPaths(), cycle: true, maxMs: runMs });
      await sleep(2000);
      const quiet = await runAttack({ url: reg.url, connections: 0, paths: [], cycle: false, maxMs: runMs });
      out.listingAttack = { connections: S.attackConnections, quiet, attacked };
      log(`listing attack: quiet ${JSON.stringify(quiet)}; attacked ${JSON.stringify(attacked)}`);
      const row = (label: string, r: AttackResult, attack: boolean) => {
        const what = attack
          ? `under the listing attack (${S.attackConnections} connections, ${f0((1000 * r.sent) / r.ms)} req/s, ${r.distinctQ} distinct q, ${r.sortPairs} sort pairs)`
          : "no attack";
        rows.push({ section: "listing attack", metric: `${label}: heartbeat p50 / p99, ${what}`, value: `${r.heartbeatP50Ms} / ${r.heartbeatP99Ms} ms (${r.probes} probes)`, target: "p99 < 50 ms", met: yes(r.heartbeatP99Ms < 50 && r.probeFailures === 0) });
        rows.push({ section: "listing attack", metric: `${label}: longest event-loop stall, ${attack ? "under the attack" : "no attack"}`, value: `${r.maxStallMs} ms`, target: "< 100 ms", met: yes(r.maxStallMs < 100) });
      };
      row("quiet", quiet, false);
      row("attack", attacked, true);
      const failed = attacked.sent - (attacked.statuses[200] ?? 0);
      if (failed) rows.push({ section: "listing attack", metric: "attack requests not answered 200", value: String(failed), target: "0", met: "NOT MET" });
      rows.push({ section: "listing attack", metric: "listing caches after the attack (registrar_listing_cache_bytes)", value: `${(attacked.cacheBytes / 2 ** 20).toFixed(1)} MiB`, target: "≤ CACHE_MAX_BYTES (256 MiB)", met: yes(attacked.cacheBytes <= 256 * 2 ** 20) });
    } finally {
      await reg.stop();
    }
  });

  // ---------------------------------------------------------------- offline-timer lateness
  if (!S.skipLateness && step("lateness")) await phase(`offline-timer lateness with ${f0(S.latenessServers)} online servers`, async () => {
    await createBenchDb(dbs.late);
    // Every server online, last_seen spread evenly (ms precision) over a window that ends 2 s before seeding began.
    const windowMs = S.latenessWindowS * 1000;
    const base = Date.now() - windowMs - 2000;
    await seedServers(dbs.late, S.latenessServers, "online", Date.now(), { lastSeenMs: (i) => base + ((i * 7919) % windowMs) });
    // Now pick OFFLINE_AFTER_S (decimals are accepted) so the first deadline falls once the registrar has surely
    // loaded: 1.5 × the start-up measured above, scaled to this size, plus 4 s.
    const leadMs = Math.round(1.5 * startup100k * (S.latenessServers / S.servers)) + 4000;
    const firstDeadline = Date.now() + leadMs;
    const offlineAfterMs = firstDeadline - base;
    const offlineAfterS = offlineAfterMs / 1000;
    let headroom = 0;
    // When each offline event reached a feed subscriber (ms since epoch, by domain): the event's `at` is when the
    // timer fired; this is when a client learnt of it, after the batch was committed.
    const published = new Map<string, number>();
    // Every server expiring within the window is exactly what mass-expiry protection holds (§10): off here, since
    // this step measures how late the timers fire.
    const reg = await startRegistrar({
      name: "lateness", databaseUrl: dbUrl(dbs.late), logLevel: "info", cpuProf: S.cpuProf, env: { OFFLINE_AFTER_S: offlineAfterS.toFixed(3), MASS_EXPIRY_HOLD_S: "0" },
    });
    try {
      const listeningAt = reg.spawnedAtMs + (reg.listeningMs ?? reg.readyMs);
      const headroomMs = firstDeadline - listeningAt;
      log(`lateness: OFFLINE_AFTER_S=${offlineAfterS.toFixed(3)}, listening ${headroomMs} ms before the first deadline`);
      headroom = headroomMs;
      const feed = new WebSocket(`${reg.url.replace("http", "ws")}/v1/feed`);
      await new Promise((resolve, reject) => (feed.once("open", resolve), feed.once("error", reject)));
      feed.on("message", (raw) => {
        const m = JSON.parse(String(raw)) as { op: string; type?: string; domain?: string; data?: { status?: string } };
        if (m.op === "event" && m.type === "server.status" && m.data?.status === "offline") published.set(m.domain!, Date.now());
      });
      feed.send(JSON.stringify({ op: "subscribe", types: ["server.status"] }));
      const windowEnd = firstDeadline + S.latenessWindowS * 1000;
      while (Date.now() < windowEnd + 1000) await sleep(200);
      const until = Date.now() + 60_000;
      for (;;) {
        const m = await reg.metrics();
        if ((m.get("registrar_servers_online") ?? 1) === 0 && (m.get("registrar_status_backlog") ?? 1) === 0) break;
        if (Date.now() > until) throw new Error(`servers still online 60 s after the window: ${m.get("registrar_servers_online")}`);
        await sleep(200);
      }
      await sleep(300);
      feed.close();
    } finally {
      await reg.stop();
    }
    const c2 = await connect(dbs.late);
    let events: { domain: string; at: string; data: string }[];
    try {
      [events] = (await c2.query("SELECT domain, at, data FROM events WHERE type = 'server.status'")) as unknown as [{ domain: string; at: string; data: string }[]];
    } finally {
      await c2.end();
    }
    hdr.initWebAssemblySync();
    const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 });
    const hp = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 });
    let early = 0;
    let offline = 0;
    for (const e of events) {
      const data = JSON.parse(e.data) as { status: string; last_seen: string };
      if (data.status !== "offline") continue;
      offline++;
      const at = Date.parse(e.at.replace(" ", "T") + "Z");
      const deadline = Date.parse(data.last_seen) + offlineAfterMs;
      const late = at - deadline;
      if (late < 0) early++;
      h.recordValue(Math.max(0, late));
      const seen = published.get(e.domain);
      if (seen !== undefined) hp.recordValue(Math.max(0, seen - deadline));
    }
    const res = {
      servers: S.latenessServers, offlineAfterS, windowS: S.latenessWindowS, offlineEvents: offline, early, listeningBeforeFirstDeadlineMs: headroom,
      p50ms: h.getValueAtPercentile(50), p90ms: h.getValueAtPercentile(90), p99ms: h.getValueAtPercentile(99), maxms: h.maxValue,
      // Deadline → the event in a feed subscriber's hands (contract §3: within 1 s).
      published: { events: hp.totalCount, p50ms: hp.getValueAtPercentile(50), p99ms: hp.getValueAtPercentile(99), maxms: hp.maxValue },
    };
    h.destroy();
    hp.destroy();
    out.lateness = res;
    log(`lateness ${JSON.stringify(res)}`);
    rows.push({ section: "timers", metric: `offline lateness, ${f0(res.servers)} deadlines over ${res.windowS} s: p50 / p99 / max`, value: `${res.p50ms} / ${res.p99ms} / ${res.maxms} ms`, target: "p99 ≤ 100 ms", met: headroom <= 0 ? "INVALID (loaded after the first deadline)" : yes(res.p99ms <= 100 && offline === res.servers) });
    rows.push({ section: "timers", metric: "offline events in a feed subscriber's hands after the deadline: p50 / p99 / max", value: `${res.published.p50ms} / ${res.published.p99ms} / ${res.published.maxms} ms (${f0(res.published.events)} events)`, target: "≤ 1 s (§3)", met: yes(res.published.maxms <= 1000 && res.published.events === res.servers) });
    if (offline !== res.servers || early) rows.push({ section: "timers", metric: "offline events missing / early", value: `${res.servers - offline} / ${early}`, target: "0 / 0", met: "NOT MET" });
    if (!S.keepDb) await dropBenchDb(dbs.late);
  });

  // ---------------------------------------------------------------- the big directory: memory and start-up
  if (!S.skipBig && step("big")) {
    await phase(`${f0(S.serversBig)} servers: seed, start-up, memory`, async () => {
      await createBenchDb(dbs.big);
      const seeded = await seedServers(dbs.big, S.serversBig, "mixed");
      out.seedBig = { servers: seeded.servers, ratings: seeded.ratings, ms: Math.round(seeded.ms) };
      rows.push({ section: "seed", metric: `seed ${f0(S.serversBig)} servers (+${f0(seeded.ratings)} ratings)`, value: `${(seeded.ms / 1000).toFixed(1)} s`, target: "< ~2 min", met: yes(seeded.ms < 120_000) });
      const reg = await startRegistrar({
        name: "big", databaseUrl: dbUrl(dbs.big), logLevel: "info", cpuProf: S.cpuProf, startTimeoutMs: 300_000, env: { OFFLINE_AFTER_S: LISTING_OFFLINE_AFTER_S },
      });
      try {
        const startMs = reg.listeningMs ?? reg.readyMs;
        rows.push({ section: "start-up", metric: `start-up at ${f0(S.serversBig)} (spawn → "registrar listening"; directory load ${reg.loaded?.ms ?? "?"} ms)`, value: `${(startMs / 1000).toFixed(2)} s`, target: "≤ 30 s", met: yes(startMs <= 30_000) });
        await memoryAt(reg, S.serversBig, "memoryBig");
      } finally {
        await reg.stop();
      }
      if (!S.keepDb) await dropBenchDb(dbs.big);
    });
  }
}

function table(): string {
  const head = { section: "section", metric: "metric", value: "value", target: "target", met: "met" };
  const all = [head, ...rows];
  const w = (k: keyof Row) => Math.max(...all.map((r) => r[k].length));
  const line = (r: Row) => (Object.keys(head) as (keyof Row)[]).map((k) => r[k].padEnd(w(k))).join(" | ");
  return [line(head), (Object.keys(head) as (keyof Row)[]).map((k) => "-".repeat(w(k))).join("-|-"), ...rows.map(line)].join("\n");
}

function markdown(): string {
  return ["| section | metric | value | target | met |", "|---|---|---|---|---|", ...rows.map((r) => `| ${r.section} | ${r.metric} | ${r.value} | ${r.target} | ${r.met} |`)].join("\n");
}

/** A sub-bench's results file, only when written during this run. */
function readResults(name: string): Record<string, any> | null {
  try {
    const file = path.join(RESULTS_DIR, name);
    if (statSync(file).mtimeMs < Date.parse(out.startedAt as string)) return null;
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return null;
  }
}

function issue14(): string {
  const o = out as Record<string, any>;
  const lines = ["| workload | registrar | bare uWS / reference, same run | target | met |", "|---|---|---|---|---|"];
  const add = (w: string, v: string, ref: string, target: string, met: string) => lines.push(`| ${w} | ${v} | ${ref} | ${target} | ${met} |`);
  const cpu = (r: { serverCpuUsPerRequest?: number }) => (r?.serverCpuUsPerRequest == null ? "" : ` (${r.serverCpuUsPerRequest} µs CPU each)`);
  const hb = o.heartbeat;
  const bareHb = o.bareHeartbeat;
  if (hb) add(`HTTP heartbeats, ${f0(hb.servers)} servers, ${S.hbConnections} connections`, `${f0(hb.rps)}/s${cpu(hb)}`, bareHb ? `${f0(bareHb.rps)}/s${cpu(bareHb)}` : "-", "≥ 20,000/s", yes(hb.rps >= 20_000));
  const lp = o.listing?.plain;
  const lq = o.listing?.q;
  if (lp) add(`listing \`limit=50&sort=users\` at ${f0(S.servers)}`, `${f0(lp.rps)}/s = ${(lp.rps / o.bare.plainMeanRps).toFixed(2)} of bare${cpu(lp)}`, `${f0(o.bare.plainMeanRps)}/s${cpu(o.bare.plain.at(-1))}`, "≥ 0.5 of bare", yes(lp.rps / o.bare.plainMeanRps >= 0.5));
  if (lq) add(`same with \`q=${Q_TERM}\``, `${f0(lq.rps)}/s = ${(lq.rps / o.bare.qMeanRps).toFixed(2)} of bare${cpu(lq)}`, `${f0(o.bare.qMeanRps)}/s${cpu(o.bare.q.at(-1))}`, "≥ 0.5 of bare", yes(lq.rps / o.bare.qMeanRps >= 0.5));
  const reg = o.registrations;
  if (reg) {
    add(`RSS growth per server, ${f0(reg.from)} → ${f0(reg.to)} registered through the API, after ${reg.idleS} s idle`, `${f0(reg.perServer)} B`, "-", "≤ 3,000 B", yes(reg.perServer <= 3000));
    add(`registrations through the API, ${S.regInFlight} in flight`, `${f0(reg.registrations.rps)}/s`, "-", "≥ 2,000/s", yes(reg.registrations.rps >= 2000));
  }
  const cl = readResults("cluster.json");
  // bench:cluster measures its own single-node baseline next to the cluster, with the same load and database.
  const single: number | undefined = cl?.singleCpuUsPerHeartbeat ?? hb?.serverCpuUsPerRequest;
  if (cl?.cpuUsPerHeartbeat) add("HTTP heartbeats over a 3-node cluster (one NATS), CPU per heartbeat, all processes", `${cl.cpuUsPerHeartbeat.toFixed(0)} µs (${f0(cl.heartbeatsPerS)}/s)${single ? ` = ${(cl.cpuUsPerHeartbeat / single).toFixed(2)} ×` : ""}`, single ? `single node ${single.toFixed(0)} µs${cl?.singleCpuUsPerHeartbeat ? ", same load, just before" : ""}` : "-", "≤ 2 × single node", single ? yes(cl.cpuUsPerHeartbeat <= 2 * single) : "n/a");
  const ws = readResults("ws.json");
  if (ws?.registrar?.rate && ws?.bare?.rate) add(`WebSocket heartbeats, ${f0(ws.registrar.connected)} sessions`, `${(ws.registrar.rate / ws.bare.rate).toFixed(2)} of bare echo (${f0(ws.registrar.rate)}/s)`, `${f0(ws.bare.rate)}/s`, "≥ 0.7", yes(ws.registrar.rate / ws.bare.rate >= 0.7));
  const late = o.lateness;
  if (late) add(`offline timer lateness p99 (${f0(late.servers)} deadlines over ${late.windowS} s)`, `${late.p99ms} ms${late.published ? ` (in the feed: p99 ${late.published.p99ms} ms)` : ""}`, "-", "≤ 30 ms", yes(late.p99ms <= 30));
  return lines.join("\n");
}

const wallStart = performance.now();
try {
  await main();
} finally {
  if (!S.keepDb) {
    for (const name of Object.values(dbs)) await dropBenchDb(name).catch(() => {});
  }
}
out.finishedAt = new Date().toISOString();
out.wallSeconds = Math.round((performance.now() - wallStart) / 1000);
out.loadavgAtEnd = os.loadavg().map((x) => x.toFixed(2));
out.rows = rows;
out.errors = errors;
writeFileSync(path.join(RESULTS_DIR, "latest.json"), JSON.stringify(out, null, 2) + "\n");
writeFileSync(path.join(RESULTS_DIR, "latest.md"), markdown() + "\n");
const m = out.machine as Record<string, unknown>;
process.stdout.write(
  `\nZent Registrar bench — commit ${m.commit} (+${m.uncommittedFilesUnderTest} uncommitted files in src/actors/transport/migrations)\n` +
    `${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB, Node ${m.node}, ${m.mysql}, runtime ${S.runtime}, client ${S.client}` +
    `${S.quick ? " (BENCH_QUICK)" : ""}; load avg at start ${(m.loadavgAtStart as string[]).join(" ")}, at end ${(out.loadavgAtEnd as string[]).join(" ")}\n\n` +
    table() +
    `\n\nwritten: bench/results/latest.json, bench/results/latest.md (wall ${out.wallSeconds} s)\n`,
);
// The cluster (issue 3), WebSocket (issue 4) and federation (issue 5) benches are their own scripts; run them after
// the single-node steps, one at a time, so they never share the machine with each other.
for (const [name, script, skip] of [
  ["cluster", "bench/cluster.ts", env.BENCH_SKIP_CLUSTER],
  ["websockets", "bench/ws.ts", env.BENCH_SKIP_WS],
  ["federation", "bench/federation.ts", env.BENCH_SKIP_FEDERATION],
] as const) {
  if (skip === "1" || ONLY || !existsSync(path.join(process.cwd(), script))) continue;
  process.stdout.write(`\n== ${name} (${script}) ==\n`);
  // Issue 14's WebSocket row is measured with 2,000 sessions (bench/ws.ts alone defaults to issue 4's 10,000).
  const childEnv = name === "websockets" ? { ...process.env, WS_BENCH_SESSIONS: env.WS_BENCH_SESSIONS ?? "2000", WS_BENCH_DOCS: env.WS_BENCH_DOCS ?? "0" } : process.env;
  const r = spawnSync(process.execPath, ["--import", "tsx", script], { stdio: "inherit", env: childEnv, timeout: 20 * 60_000 });
  if (r.status !== 0) errors.push(`${name}: exit ${r.status ?? r.signal}`);
}
// Issue 14's table in one place: this run's single-node rows and the cluster / WebSocket benches' results files.
writeFileSync(path.join(RESULTS_DIR, "issue14.md"), issue14() + "\n");
process.stdout.write(`\n== issue 14: production settings (LOG_LEVEL=${S.logLevel}) ==\n${issue14()}\n(written: bench/results/issue14.md)\n`);
if (errors.length) {
  process.stdout.write(`\n${errors.length} phase(s) failed:\n${errors.join("\n")}\n`);
  process.exitCode = 1;
}
process.exit();
