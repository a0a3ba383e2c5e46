// `npm run bench:import`: times `import:php` on a generated PHP registrar database (BENCH_IMPORT_ROWS, default
// 100,000 servers and about 0.6 ratings each): a dry run, the import, and a second run that must change nothing.
// Each run is the CLI in its own process, as an operator runs it. BENCH_KEEP_DB=1 keeps the databases.
import { spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import mysql from "mysql2/promise";
import { createPhpDatabase, generatePhpRows, insertPhpRows } from "../test/support/php-db.js";
import { migrate } from "../src/store/migrate.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BASE = process.env.BENCH_MYSQL_URL ?? "mysql://root@127.0.0.1:3306";
const ROWS = Number(process.env.BENCH_IMPORT_ROWS ?? 100_000);
const php = `${BASE}/zent_bench_${process.pid}_php`;
const target = `${BASE}/zent_bench_${process.pid}_imp`;

function runCli(args: string[]): { ms: number; report: any } {
  const started = performance.now();
  const res = spawnSync(process.execPath, ["--import", "tsx", "src/import-cli.ts", php, "--json", ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: target, LOG_LEVEL: "warn" },
    encoding: "utf8",
    maxBuffer: 512 * 1024 * 1024,
  });
  const ms = performance.now() - started;
  if (res.status !== 0) throw new Error(`import:php ${args.join(" ")} exited ${res.status}: ${res.stderr.slice(-2000)}`);
  return { ms, report: JSON.parse(res.stdout) };
}

async function drop(url: string): Promise<void> {
  const u = new URL(url);
  const conn = await mysql.createConnection({ host: u.hostname, port: Number(u.port || 3306), user: u.username || "root" });
  await conn.query(`DROP DATABASE IF EXISTS \`${u.pathname.slice(1)}\``);
  await conn.end();
}

const summary = (r: any) =>
  `servers ${r.servers.imported} imported (${r.servers.online} online, ${r.servers.offline} offline), ${r.servers.alreadyImported} already imported, ` +
  `${r.servers.nonConforming.length} non-conforming; ratings ${r.ratings.imported} imported, ${r.ratings.superseded} superseded`;

try {
  const nowMs = Date.now();
  let t = performance.now();
  const rows = generatePhpRows(ROWS, { nowMs, seed: 7 });
  await createPhpDatabase(php);
  await insertPhpRows(php, rows.servers, rows.ratings);
  console.log(`PHP database: ${rows.servers.length} servers, ${rows.ratings.length} ratings, built in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  t = performance.now();
  await migrate(target);
  console.log(`target migrated in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  const dry = runCli(["--dry-run"]);
  console.log(`dry run:     ${(dry.ms / 1000).toFixed(1)} s (whole process) — ${summary(dry.report)}`);
  // The machine is shared: the 1-minute load average before and after says how much else ran (2 cores).
  const loadBefore = os.loadavg()[0].toFixed(2);
  const real = runCli([]);
  console.log(`load average (1 min) before the import ${loadBefore}, after ${os.loadavg()[0].toFixed(2)}; ${os.cpus().length} CPUs`);
  console.log(
    `import:      ${(real.ms / 1000).toFixed(1)} s (whole process; ${(real.report.durationMs / 1000).toFixed(1)} s inside) = ` +
      `${Math.round(ROWS / (real.ms / 1000))} servers/s — ${summary(real.report)}`,
  );
  const again = runCli([]);
  console.log(`second run:  ${(again.ms / 1000).toFixed(1)} s — ${summary(again.report)}`);
  if (again.report.servers.imported !== 0 || again.report.servers.alreadyImported !== real.report.servers.imported) throw new Error("second run was not a no-op");
} finally {
  if (process.env.BENCH_KEEP_DB !== "1") {
    await drop(php);
    await drop(target);
  }
}
