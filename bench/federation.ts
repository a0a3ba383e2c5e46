// `tsx bench/federation.ts` (BENCH_QUICK=1 for 10,000 records): two peer registrars on one private nats-server,
// each with its own database. Measures (1) how long a new peer takes to mirror 100,000 records, (2) the bytes of one
// anti-entropy round when the peers are in sync and when 1 % of the records differ, (3) live mirror lag p50/p99
// (update at A acknowledged → event on B's /v1/feed). Writes bench/results/federation.{json,md}.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { benchToken } from "./data.js";
import { freePort, httpGet, metricSum, RESULTS_DIR, sleep, startRegistrar, type Registrar } from "./procs.js";
import { createBenchDb, dbUrl, dropBenchDb, REGISTRAR_ID, seedServers } from "./seed.js";

const QUICK = process.env.BENCH_QUICK === "1";
const N = Number(process.env.BENCH_FED_SERVERS ?? (QUICK ? 10_000 : 100_000));
const LAG_SAMPLES = QUICK ? 200 : 1000;
const PEER_ID = "reg.peer.test";
const DB_A = `zent_bench_${process.pid}_feda`;
const DB_B = `zent_bench_${process.pid}_fedb`;
const log = (msg: string) => process.stdout.write(`[bench:federation ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

type Round = { peer: string; inSync: boolean; bytes: number; buckets: number; fetched: number; purged: number; ms: number; time: string };

/** "anti-entropy round" lines (LOG_LEVEL=info) of a registrar's log, in order. */
function rounds(r: Registrar): Round[] {
  const out: Round[] = [];
  for (const line of readFileSync(r.logFile, "utf8").split("\n")) {
    if (!line.includes('"anti-entropy round"')) continue;
    const j = JSON.parse(line);
    out.push({ peer: j.peer, inSync: j.inSync, bytes: j.bytes, buckets: j.buckets, fetched: j.fetched, purged: j.purged, ms: j.ms, time: j.time });
  }
  return out;
}

async function metric(r: Registrar, name: string, label = ""): Promise<number> {
  const m = await r.metrics();
  return label ? m.get(`${name}{${label}}`) ?? 0 : metricSum(m, name);
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number, everyMs = 200): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (await fn().catch(() => false)) return performance.now() - t0;
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function listed(r: Registrar, origin: string): Promise<number> {
  return JSON.parse((await httpGet(`${r.url}/v1/servers?origin=${origin}&limit=1`)).body).total;
}

async function put(url: string, domain: string, name: string): Promise<void> {
  const res = await fetch(`${url}/v1/servers/${domain}`, {
    method: "PUT", headers: { "content-type": "application/json", authorization: `Bearer ${benchToken(domain)}` }, body: JSON.stringify({ name }),
  });
  if (res.status !== 200) throw new Error(`PUT ${domain}: ${res.status} ${await res.text()}`);
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function main(): Promise<void> {
  const natsPort = await freePort();
  const natsDir = mkdtempSync(path.join(os.tmpdir(), "zb-fednats-"));
  const nats = spawn("/usr/sbin/nats-server", ["-a", "127.0.0.1", "-p", String(natsPort), "-js", "-sd", natsDir], { stdio: "ignore" });
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  await sleep(500);
  const registrars: Registrar[] = [];
  try {
    await Promise.all([createBenchDb(DB_A), createBenchDb(DB_B)]);
    const seeded = await seedServers(DB_A, N, "mixed");
    log(`seeded ${N} servers at A in ${Math.round(seeded.ms)} ms`);
    const common = { NATS_URL: natsUrl, OFFLINE_AFTER_S: "86400", FED_ANTI_ENTROPY_S: "5", WS_RATE_LIMIT: "off" };
    const a = await startRegistrar({ name: "fed-a", databaseUrl: dbUrl(DB_A), logLevel: "info", env: { ...common, CLUSTER_ID: "fbencha", NODE_ID: "a", REGISTRAR_ID, PEERS: PEER_ID } });
    registrars.push(a);
    await until("A publishing", async () => (await metric(a, "registrar_fed_publisher")) === 1, 180_000);
    log(`A up with ${N} records`);

    // (1) A new peer mirrors everything by anti-entropy.
    const b = await startRegistrar({ name: "fed-b", databaseUrl: dbUrl(DB_B), logLevel: "info", env: { ...common, CLUSTER_ID: "fbenchb", NODE_ID: "b", REGISTRAR_ID: PEER_ID, PEERS: REGISTRAR_ID } });
    registrars.push(b);
    await until(`B mirroring ${N}`, async () => (await listed(b, REGISTRAR_ID)) === N, 900_000, 250);
    const mirrorMs = Date.now() - b.spawnedAtMs;
    const initial = rounds(b).filter((r) => !r.inSync);
    log(`B mirrored ${N} records ${Math.round(mirrorMs / 100) / 10} s after its start (${initial.length} repairing rounds)`);

    // (2a) In sync: bytes per round, from B's requester counters over a window of in-sync rounds only.
    await until("in-sync round", async () => (await metric(b, "registrar_fed_sync_rounds_total", 'result="in_sync"')) >= 1, 60_000);
    const bytesOf = async () => (await metric(b, "registrar_fed_sync_bytes_total", 'role="requester",direction="sent"')) + (await metric(b, "registrar_fed_sync_bytes_total", 'role="requester",direction="received"'));
    const before = { bytes: await bytesOf(), inSync: await metric(b, "registrar_fed_sync_rounds_total", 'result="in_sync"'), repaired: await metric(b, "registrar_fed_sync_rounds_total", 'result="repaired"') };
    await until("3 more in-sync rounds", async () => (await metric(b, "registrar_fed_sync_rounds_total", 'result="in_sync"')) >= before.inSync + 3, 60_000);
    const after = { bytes: await bytesOf(), inSync: await metric(b, "registrar_fed_sync_rounds_total", 'result="in_sync"'), repaired: await metric(b, "registrar_fed_sync_rounds_total", 'result="repaired"') };
    if (after.repaired !== before.repaired) throw new Error("a repairing round ran during the in-sync window");
    const inSyncBytes = (after.bytes - before.bytes) / (after.inSync - before.inSync);
    log(`in-sync round: ${inSyncBytes} payload bytes`);

    // (2b) 1 % differs: B is stopped while 1 % of A's records change, then B's first round repairs them.
    await b.stop();
    const changed = Math.round(N / 100);
    const domains = seeded.domains.slice(0, changed);
    const t0 = performance.now();
    for (let i = 0; i < domains.length; i += 16) await Promise.all(domains.slice(i, i + 16).map((d) => put(a.url, d, `Changed ${d.slice(0, 40)}`)));
    log(`changed ${changed} records at A in ${Math.round(performance.now() - t0)} ms`);
    const b2 = await startRegistrar({ name: "fed-b2", databaseUrl: dbUrl(DB_B), logLevel: "info", env: { ...common, CLUSTER_ID: "fbenchb", NODE_ID: "b", REGISTRAR_ID: PEER_ID, PEERS: REGISTRAR_ID } });
    registrars.push(b2);
    await until("1 % repaired", async () => rounds(b2).some((r) => !r.inSync && r.fetched > 0), 300_000, 100);
    const repair = rounds(b2).find((r) => !r.inSync && r.fetched > 0)!;
    log(`1 % round: ${repair.bytes} bytes, ${repair.buckets} buckets differed, ${repair.fetched} records fetched, ${repair.ms} ms`);

    // (3) Live lag: updates at A, one at a time at ~100/s, until each shows up in B's feed.
    const ws = new WebSocket(`${b2.url.replace("http", "ws")}/v1/feed`);
    await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
    const sent = new Map<string, number>();
    const acked = new Map<string, number>();
    const seen = new Map<string, number>();
    const lags: number[] = [];
    ws.on("message", (raw) => {
      const m = JSON.parse(String(raw));
      if (m.op !== "event" || m.type !== "server.updated") return;
      const key = `${m.domain} ${m.data.name}`;
      const at = sent.get(key);
      if (at !== undefined) {
        lags.push(performance.now() - at);
        seen.set(key, performance.now());
        sent.delete(key);
      }
    });
    ws.send(JSON.stringify({ op: "subscribe", types: ["server.updated"] }));
    await sleep(300);
    for (let i = 0; i < LAG_SAMPLES; i++) {
      const d = seeded.domains[changed + (i % (N - changed))];
      const name = `Lag ${i}`;
      sent.set(`${d} ${name}`, performance.now());
      await put(a.url, d, name);
      acked.set(`${d} ${name}`, performance.now());
      await sleep(10);
    }
    await until("every update in B's feed", async () => lags.length === LAG_SAMPLES, 30_000, 50);
    ws.close();
    lags.sort((x, y) => x - y);
    const lag = { p50: pct(lags, 50), p99: pct(lags, 99), max: lags[lags.length - 1] };
    // From A's 200 instead: the event may reach B's feed before A's answer reaches the client (then 0).
    const fromAck = [...seen].map(([k, t]) => Math.max(0, t - acked.get(k)!)).sort((x, y) => x - y);
    const ack = { p50: pct(fromAck, 50), p99: pct(fromAck, 99) };
    log(`live lag p50 ${lag.p50.toFixed(1)} ms, p99 ${lag.p99.toFixed(1)} ms, max ${lag.max.toFixed(1)} ms from the PUT at A; from its 200: p50 ${ack.p50.toFixed(1)} ms, p99 ${ack.p99.toFixed(1)} ms (${LAG_SAMPLES} updates)`);

    const result = {
      servers: N,
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
      new_peer_mirror_s: mirrorMs / 1000,
      new_peer_rounds: initial.map(({ bytes, buckets, fetched, ms }) => ({ bytes, buckets, fetched, ms })),
      anti_entropy_in_sync_bytes: inSyncBytes,
      anti_entropy_1pct: { changed, bytes: repair.bytes, buckets: repair.buckets, fetched: repair.fetched, ms: repair.ms },
      live_lag_ms: {
        samples: LAG_SAMPLES, p50: Number(lag.p50.toFixed(1)), p99: Number(lag.p99.toFixed(1)), max: Number(lag.max.toFixed(1)),
        from_ack_p50: Number(ack.p50.toFixed(1)), from_ack_p99: Number(ack.p99.toFixed(1)),
      },
    };
    writeFileSync(path.join(RESULTS_DIR, "federation.json"), JSON.stringify(result, null, 2) + "\n");
    writeFileSync(
      path.join(RESULTS_DIR, "federation.md"),
      [
        `# Federation benchmark (${new Date().toISOString().slice(0, 10)}, ${result.machine})`,
        "",
        "Two single-node registrars on one loopback nats-server, each with its own MariaDB database. Bytes are",
        "anti-entropy message payloads (request + reply, as counted by the requester); NATS adds ~100–150 bytes of",
        "protocol framing (subject, reply inbox, lengths) per request/reply pair.",
        "",
        "| measure | result |",
        "|---|---|",
        `| new peer mirrors ${N.toLocaleString("en")} records (its start → all listed) | ${result.new_peer_mirror_s.toFixed(1)} s |`,
        `| one anti-entropy round, in sync | ${Math.round(inSyncBytes)} bytes |`,
        `| one anti-entropy round, 1 % (${changed}) records differ | ${(repair.bytes / 1024).toFixed(0)} KiB (${repair.buckets} of 4096 buckets differed, ${repair.fetched} records fetched, ${repair.ms} ms) |`,
        `| live mirror lag, PUT sent to A → event on B's /v1/feed (${LAG_SAMPLES} updates, ~80/s) | p50 ${lag.p50.toFixed(1)} ms, p99 ${lag.p99.toFixed(1)} ms |`,
        `| the same, from A's 200 | p50 ${ack.p50.toFixed(1)} ms, p99 ${ack.p99.toFixed(1)} ms |`,
        "",
      ].join("\n"),
    );
    log(`wrote ${path.join(RESULTS_DIR, "federation.md")}`);
  } finally {
    for (const r of registrars.reverse()) await r.stop().catch(() => {});
    nats.kill("SIGKILL");
    rmSync(natsDir, { recursive: true, force: true });
    await Promise.all([dropBenchDb(DB_A), dropBenchDb(DB_B)]).catch(() => {});
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench:federation failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
