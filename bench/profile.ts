// `tsx bench/profile.ts <scenario>`: one registrar child under --cpu-prof, one bounded load, then the hottest
// functions of the profile (self and inclusive time). Scenarios: list | q | list-info | list-nocache | q-nocache |
// heartbeat | lateness. BENCH_RUNTIME=build gives real line numbers (tsx output has none).
//   PROFILE_SERVERS (default 10000), PROFILE_DURATION_S (default 5), PROFILE_TOP (default 30),
//   PROFILE_LOG_LEVEL (default warn; info for list-info)
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Q_TERM, rowOf } from "./data.js";
import { RESULTS_DIR, runLoad, sleep, startRegistrar } from "./procs.js";
import { createBenchDb, dbUrl, dropBenchDb, seedServers } from "./seed.js";
import { busiest, summarize } from "./profile-summary.js";

const scenario = process.argv[2] ?? "list";
const n = Number(process.env.PROFILE_SERVERS ?? 10_000);
const durationS = Number(process.env.PROFILE_DURATION_S ?? 5);
const top = Number(process.env.PROFILE_TOP ?? 30);
const db = `zent_bench_${process.pid}_prof`;
const profDir = path.join(RESULTS_DIR, "prof");

async function main() {
  // Only this scenario's directory: other benches keep their raw profiles under bench/results/prof/ too.
  rmSync(path.join(profDir, `prof-${scenario}`), { recursive: true, force: true });
  await createBenchDb(db);
  try {
    const base = Date.now() - 12_000;
    await seedServers(db, n, scenario === "lateness" ? "online" : "mixed", Date.now(), scenario === "lateness" ? { lastSeenMs: (i) => base + ((i * 7919) % 10_000) } : {});
    // lateness: deadlines from 8 s after now, over 10 s.
    const offlineAfterS = scenario === "lateness" ? ((Date.now() + 8000 - base) / 1000).toFixed(3) : "86400";
    const reg = await startRegistrar({
      name: `prof-${scenario}`, databaseUrl: dbUrl(db), logLevel: (process.env.PROFILE_LOG_LEVEL as "info" | "warn" | undefined) ?? (scenario === "list-info" ? "info" : "warn"), cpuProf: true, env: { OFFLINE_AFTER_S: offlineAfterS },
    });
    try {
      const base = { url: reg.url, connections: 64, warmupS: 1, durationS, maxRequests: 5_000_000, engine: process.env.BENCH_CLIENT === "autocannon" ? ("autocannon" as const) : ("raw" as const) };
      if (scenario === "lateness") {
        await sleep(8000 + 10_000 + 3000);
      } else if (scenario === "heartbeat") {
        const domains: string[] = [];
        for (let i = 0; i < n && domains.length < 10_000; i++) if (rowOf(i, 0, "mixed").status === "online") domains.push(rowOf(i, 0, "mixed").domain);
        const file = path.join(RESULTS_DIR, "prof-domains.txt");
        writeFileSync(file, domains.join("\n") + "\n");
        console.log(JSON.stringify(await runLoad({ ...base, mode: "heartbeat", domainsFile: file })));
      } else {
        const p = scenario.startsWith("q") ? `/v1/servers?limit=50&sort=users&q=${Q_TERM}` : "/v1/servers?limit=50&sort=users";
        console.log(JSON.stringify(await runLoad({ ...base, mode: "get", path: p, cacheBust: scenario.endsWith("-nocache") })));
      }
    } finally {
      await reg.stop();
    }
    const dir = path.join(profDir, `prof-${scenario}`);
    const files = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")).map((f) => path.join(dir, f));
    if (files.length === 0) throw new Error("no profile written");
    console.log(summarize(busiest(files), top));
  } finally {
    await dropBenchDb(db);
  }
}

await main();
process.exit(0);
