// `npm run bench:cluster` (also run by `npm run bench` unless BENCH_SKIP_CLUSTER=1): three registrar nodes on one
// private nats-server and one MySQL database. Measures heartbeats/s through the cluster, heartbeat ack latency,
// cross-node visibility, failover after kill -9 (5 runs) and handoff after SIGTERM. Loopback only, bounded.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as hdr from "hdr-histogram-js";
import type { LoadResult } from "./load-worker.js";
import { cpuSeconds, freePort, httpGet, metricSum, RESULTS_DIR, runLoad, sleep, startRegistrar, type Registrar } from "./procs.js";
import { createBenchDb, dbUrl, dropBenchDb, seedServers } from "./seed.js";

const QUICK = process.env.BENCH_QUICK === "1";
const SERVERS = QUICK ? 2_000 : 10_000;
const DURATION_S = QUICK ? 3 : 10;
const FAILOVER_RUNS = QUICK ? 2 : 5;
const DB = `zent_bench_${process.pid}_cluster`;
// Production settings (issue 14): one log line per request unless BENCH_LOG_LEVEL=warn.
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL === "warn" ? ("warn" as const) : ("info" as const);
const log = (msg: string) => process.stdout.write(`[bench:cluster ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

async function startNats(): Promise<{ url: string; child: ChildProcess; dir: string }> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), "zb-nats-"));
  const child = spawn("/usr/sbin/nats-server", ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir], { stdio: "ignore" });
  await sleep(500);
  return { url: `nats://127.0.0.1:${port}`, child, dir };
}

async function health(url: string): Promise<any> {
  return JSON.parse((await httpGet(`${url}/v1/health`, 2000)).body);
}

/** Polls until the given nodes own all shards among themselves; returns the time it took. */
async function settle(nodes: Registrar[], timeoutMs = 30_000): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    try {
      const hs = await Promise.all(nodes.map((n) => health(n.url)));
      const owned = hs.reduce((a, h) => a + h.cluster.shards_owned, 0);
      if (owned === 256 && hs.every((h) => h.cluster.nodes === nodes.length)) return performance.now() - t0;
    } catch {
      // a node may be restarting
    }
    await sleep(20);
  }
  throw new Error("cluster did not settle");
}

type HeartbeatRun = { loads: LoadResult[]; cpuEach: number[]; cpu: number; wallS: number; counted: number; cpuUsPerHeartbeat: number; before: Map<string, number>[]; after: Map<string, number>[] };

/**
 * The heartbeat load of this bench, 64 connections in all from one load worker per node (all three on one node
 * for the single-node baseline), and the CPU of `pids` across it, warm-up included on both sides (the load runs
 * count requests over the measured window only, so CPU per heartbeat comes from the registrars' own counters).
 */
async function heartbeatRun(targets: Registrar[], pids: number[], domainsFile: string): Promise<HeartbeatRun> {
  const nodes = [...new Set(targets)];
  const before = await Promise.all(nodes.map((n) => n.metrics()));
  const cpu0 = pids.map(cpuSeconds);
  const started = performance.now();
  const loads = await Promise.all(
    targets.map((n, i) => runLoad({ url: n.url, connections: i === 0 ? 22 : 21, warmupS: 1, durationS: DURATION_S, maxRequests: 2_000_000, mode: "heartbeat", domainsFile })),
  );
  const cpuEach = pids.map((pid, i) => cpuSeconds(pid) - cpu0[i]);
  const cpu = cpuEach.reduce((a, s) => a + s, 0);
  const wallS = (performance.now() - started) / 1000;
  const after = await Promise.all(nodes.map((n) => n.metrics()));
  const counted = after.reduce((a, m, i) => a + metricSum(m, "registrar_heartbeats_total") - metricSum(before[i], "registrar_heartbeats_total"), 0);
  return { loads, cpuEach, cpu, wallS, counted, cpuUsPerHeartbeat: counted > 0 ? (cpu * 1e6) / counted : NaN, before, after };
}

async function main(): Promise<void> {
  const rows: [string, string, string, string][] = [];
  const summary: Record<string, number> = {};
  const nats = await startNats();
  await createBenchDb(DB);
  const seeded = await seedServers(DB, SERVERS, "online");
  const clusterId = `bench${process.pid}`;
  const env = (name: string) => ({ NATS_URL: nats.url, CLUSTER_ID: clusterId, NODE_ID: name, OFFLINE_AFTER_S: "86400", ALLOW_INSECURE_URLS: "true" });
  const domainsFile = path.join(RESULTS_DIR, "cluster-domains.txt");
  writeFileSync(domainsFile, seeded.domains.join("\n"));

  // The baseline, in this run and with this load: one node without NATS on the same database. This machine's speed
  // drifts by up to 2× between minutes, so a single-node figure from another step of `npm run bench` is no fair
  // baseline for the cluster's.
  const single = await startRegistrar({ name: "cluster-single", databaseUrl: dbUrl(DB), logLevel: LOG_LEVEL, env: { OFFLINE_AFTER_S: "86400", ALLOW_INSECURE_URLS: "true" } });
  let baseline: HeartbeatRun;
  try {
    baseline = await heartbeatRun([single, single, single], [single.pid], domainsFile);
  } finally {
    await single.stop();
  }
  rows.push([`single node, same load and database: heartbeats/s, CPU per heartbeat`, `${Math.round(baseline.loads.reduce((a, l) => a + l.rps, 0)).toLocaleString("en-US")}/s, ${baseline.cpuUsPerHeartbeat.toFixed(0)} µs`, "-", `${(baseline.cpu / baseline.wallS).toFixed(2)} cores over ${baseline.wallS.toFixed(1)} s`]);
  summary.singleCpuUsPerHeartbeat = baseline.cpuUsPerHeartbeat;

  const nodes: Registrar[] = [];
  // BENCH_CPU_PROF=1: every node under --cpu-prof (bench/results/prof/cluster-<name>/; bench/profile-summary.ts reads them).
  const cpuProf = process.env.BENCH_CPU_PROF === "1";
  for (const name of ["a", "b", "c"]) nodes.push(await startRegistrar({ name: `cluster-${name}`, databaseUrl: dbUrl(DB), logLevel: LOG_LEVEL, env: env(name), cpuProf }));
  await settle(nodes);
  log(`3 nodes up with ${SERVERS} servers`);

  // Heartbeats through all three nodes at once; CPU of every process the cluster needs (three registrars, nats-server).
  const { loads, cpuEach, cpu, wallS, counted, cpuUsPerHeartbeat, before, after } = await heartbeatRun(nodes, [...nodes.map((n) => n.pid), nats.child.pid!], domainsFile);
  const hbs = loads.reduce((a, l) => a + l.rps, 0);
  const non2xx = loads.reduce((a, l) => a + l.non2xx + l.errors, 0);
  const p99 = Math.max(...loads.map((l) => l.latencyUs.p99));
  const p50 = loads.map((l) => l.latencyUs.p50).sort((a, b) => a - b)[1];
  const rowsWritten = after.reduce((a, m, i) => a + metricSum(m, "registrar_write_behind_flush_rows_sum") - metricSum(before[i], "registrar_write_behind_flush_rows_sum"), 0);
  const remote = after.reduce((a, m, i) => a + metricSum(m, "registrar_mailbox_request_seconds_count") - metricSum(before[i], "registrar_mailbox_request_seconds_count"), 0);
  rows.push([`heartbeats/s through 3 nodes (64 connections, ${SERVERS.toLocaleString("en-US")} servers)`, Math.round(hbs).toLocaleString("en-US"), "-", `non-2xx ${non2xx}`]);
  const ratio = cpuUsPerHeartbeat / baseline.cpuUsPerHeartbeat;
  rows.push([`CPU per heartbeat, all processes (3 registrars + nats-server, LOG_LEVEL=${LOG_LEVEL})`, `${cpuUsPerHeartbeat.toFixed(0)} µs = ${ratio.toFixed(2)} × the single node`, "≤ 2 × single node", `${ratio <= 2 ? "met" : "NOT MET"}; ${(cpu / wallS).toFixed(2)} cores over ${wallS.toFixed(1)} s, ${Math.round(counted).toLocaleString("en-US")} heartbeats`]);
  rows.push(["… of which each process, per heartbeat (a, b, c, nats-server)", cpuEach.map((s) => `${((s * 1e6) / counted).toFixed(0)} µs`).join(", "), "-", ""]);
  summary.cpuUsPerHeartbeat = cpuUsPerHeartbeat;
  summary.heartbeatsPerS = hbs;
  rows.push(["heartbeat ack latency p50 / p99 (worst node)", `${(p50 / 1000).toFixed(2)} / ${(p99 / 1000).toFixed(2)} ms`, "-", ""]);
  const delta = (name: string) => after.reduce((a, m, i) => a + metricSum(m, name) - metricSum(before[i], name), 0);
  const batches = delta("registrar_forwarded_heartbeat_batch_size_count");
  const batched = delta("registrar_forwarded_heartbeat_batch_size_sum");
  rows.push(["forwarded mailbox requests per heartbeat (edge → owner on another node)", `${((remote / loads.reduce((a, l) => a + l.requests2xx, 0)) * 100).toFixed(0)} %`, "-", "a batch of heartbeats counts once; ≈ 67 % of heartbeats reach a non-owner with 3 nodes"]);
  rows.push(["forwarded heartbeats per batch (mean)", batches > 0 ? (batched / batches).toFixed(1) : "-", "-", `${Math.round(batched).toLocaleString("en-US")} in ${Math.round(batches).toLocaleString("en-US")} batches, ${Math.round(delta("registrar_forwarded_heartbeat_fallbacks_total"))} sent again one by one`]);
  rows.push(["MySQL row writes per heartbeat", (rowsWritten / loads.reduce((a, l) => a + l.requests2xx, 0)).toFixed(3), "-", ""]);
  if (cpuProf) {
    // Profiles are written on a graceful stop, and the failover runs below kill nodes: stop here.
    await Promise.all(nodes.map((n) => n.stop()));
    nats.child.kill("SIGKILL");
    rmSync(nats.dir, { recursive: true, force: true });
    await dropBenchDb(DB);
    log(`profiles: bench/results/prof/cluster-{a,b,c}/\n${rows.map((r) => r.join(" | ")).join("\n")}`);
    return;
  }

  // Cross-node visibility: register on one node, poll another.
  const vis = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000, numberOfSignificantValueDigits: 3 });
  for (let i = 0; i < 200; i++) {
    const domain = `vis${i}-${process.pid}.bench.test`;
    const body = JSON.stringify({ domain, name: `Vis ${i}`, api_url: `https://${domain}/api` });
    const r = await fetch(`${nodes[i % 3].url}/v1/servers`, { method: "POST", headers: { "content-type": "application/json" }, body });
    if (r.status !== 201) throw new Error(`register: ${r.status}`);
    const t0 = performance.now();
    const reader = nodes[(i + 1) % 3].url;
    while ((await httpGet(`${reader}/v1/servers/${domain}`)).status !== 200) {
      if (performance.now() - t0 > 5000) throw new Error("not visible");
    }
    vis.recordValue(Math.round((performance.now() - t0) * 1000));
  }
  rows.push(["cross-node visibility p50 / p99 (200 writes)", `${(vis.getValueAtPercentile(50) / 1000).toFixed(2)} / ${(vis.getValueAtPercentile(99) / 1000).toFixed(2)} ms`, "p99 ≤ 100 ms", vis.getValueAtPercentile(99) <= 100_000 ? "met" : "NOT MET"]);

  // Failover: kill -9 one node, time until the two others own every shard; then bring it back.
  const failovers: number[] = [];
  for (let run = 0; run < FAILOVER_RUNS; run++) {
    const victim = nodes[run % 3];
    const rest = nodes.filter((n) => n !== victim);
    const t0 = performance.now();
    victim.child.kill("SIGKILL");
    await settle(rest);
    failovers.push(performance.now() - t0);
    const again = await startRegistrar({ name: `${victim.name}-r${run}`, databaseUrl: dbUrl(DB), logLevel: LOG_LEVEL, env: env(victim.name.replace("cluster-", "") + `r${run}`) });
    nodes[nodes.indexOf(victim)] = again;
    await settle(nodes);
  }
  failovers.sort((a, b) => a - b);
  const fmed = failovers[Math.floor(failovers.length / 2)];
  const fmax = failovers[failovers.length - 1];
  rows.push([`failover after kill -9 (${FAILOVER_RUNS} runs) p50 / max`, `${(fmed / 1000).toFixed(2)} / ${(fmax / 1000).toFixed(2)} s`, "≤ 5 s", fmax <= 5000 ? "met" : "NOT MET"]);

  // Handoff: SIGTERM one node.
  const leaving = nodes[2];
  const t0 = performance.now();
  leaving.child.kill("SIGTERM");
  const handoff = (await settle(nodes.slice(0, 2))) + 0;
  const handoffMs = performance.now() - t0;
  rows.push(["handoff after SIGTERM (all its shards owned by the others)", `${handoffMs.toFixed(0)} ms`, "≤ 1 s", handoffMs <= 1000 ? "met" : "NOT MET"]);
  void handoff;

  for (const n of nodes) await n.stop().catch(() => {});
  nats.child.kill("SIGKILL");
  rmSync(nats.dir, { recursive: true, force: true });
  await dropBenchDb(DB);

  const table = ["| metric | value | target | met / note |", "|---|---|---|---|", ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
  process.stdout.write(`\n${table}\n`);
  writeFileSync(path.join(RESULTS_DIR, "cluster.md"), `${table}\n`);
  writeFileSync(path.join(RESULTS_DIR, "cluster.json"), JSON.stringify({ ...summary, logLevel: LOG_LEVEL, servers: SERVERS, at: new Date().toISOString() }, null, 2) + "\n");
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
