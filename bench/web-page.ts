// The web directory page (contract §9.1, issue 12) next to the JSON listing, in one registrar at the main size:
// requests/s and p99 of `GET /` and of the JSON page of the same size (the page shows PAGE_SIZE servers), plain
// and with `Accept-Encoding: gzip`, and the bytes on the wire of each. Target: the page ≥ 70 % of the JSON
// listing's throughput. Run by bench/run.ts (`BENCH_ONLY=web npm run bench` runs only the seed and this step).
import http from "node:http";
import { PAGE_SIZE } from "../src/web/listing.js";
import type { LoadResult } from "./load-worker.js";
import { httpGet, runLoad, startBare, startRegistrar, type Bare } from "./procs.js";

export const WEB_PATH = "/";
export const JSON_SAME_SIZE_PATH = `/v1/servers?limit=${PAGE_SIZE}&sort=users`;
export const JSON_LISTING_PATH = "/v1/servers?limit=50&sort=users";
/** The page's target share of the JSON listing's throughput (issue 12). */
export const WEB_MIN_RATIO = 0.7;

export type WebBenchSettings = {
  servers: number;
  connections: number;
  warmupS: number;
  durationS: number;
  maxRequests: number;
  client: "raw" | "autocannon";
  cpuProf: boolean;
  offlineAfterS: string;
  /** Interleaved rounds of the four runs (BENCH_WEB_ROUNDS); figures are their means, p99 the worst. */
  rounds: number;
};

type Row = { section: string; metric: string; value: string; target: string; met: string };
type Summary = { rps: number; p50ms: number; p99ms: number; cpuUsPerReq: number | null; generatorCpu: number; failures: number; each: number[] };
type Case = { key: string; label: string; path: string; gzip: boolean; bare?: true };

/** One GET's status, body size on the wire and Content-Encoding (no decoding: the bytes the client would receive). */
function wireSize(url: string, gzip: boolean): Promise<{ status: number; bytes: number; encoding: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: gzip ? { "Accept-Encoding": "gzip" } : {} }, (res) => {
      let bytes = 0;
      res.on("data", (c: Buffer) => (bytes += c.length));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, bytes, encoding: String(res.headers["content-encoding"] ?? "identity") }));
      res.on("error", reject);
    });
    req.setTimeout(60_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on("error", reject);
  });
}

export async function webPageBench(databaseUrl: string, S: WebBenchSettings, log: (msg: string) => void): Promise<{ rows: Row[]; result: Record<string, unknown> }> {
  const cases: Case[] = [
    { key: "json", label: `GET ${JSON_SAME_SIZE_PATH} (JSON, ${PAGE_SIZE} servers)`, path: JSON_SAME_SIZE_PATH, gzip: false },
    { key: "page", label: `GET ${WEB_PATH} (HTML page, ${PAGE_SIZE} servers)`, path: WEB_PATH, gzip: false },
    // The JSON listing as the other steps measure it (issue 14's row): 50 servers, about the HTML page's bytes.
    { key: "json50", label: `GET ${JSON_LISTING_PATH} (the JSON listing row, 50 servers)`, path: JSON_LISTING_PATH, gzip: false },
    { key: "jsonGzip", label: `GET ${JSON_SAME_SIZE_PATH}, Accept-Encoding: gzip`, path: JSON_SAME_SIZE_PATH, gzip: true },
    { key: "pageGzip", label: `GET ${WEB_PATH}, Accept-Encoding: gzip`, path: WEB_PATH, gzip: true },
    // The transport's ceiling for each body size: bare uWS answering the very bytes of the JSON page and of the HTML
    // page (its `q=` path answers the second), so the table shows what is rendering and what is the socket.
    { key: "bareJson", label: "bare uWS ceiling, the JSON page's bytes", path: JSON_SAME_SIZE_PATH, gzip: false, bare: true },
    { key: "barePage", label: "bare uWS ceiling, the HTML page's bytes", path: "/?q=page", gzip: false, bare: true },
  ];
  const reg = await startRegistrar({ name: "web-page", databaseUrl, logLevel: "info", cpuProf: S.cpuProf, env: { OFFLINE_AFTER_S: S.offlineAfterS } });
  const all: Record<string, LoadResult[]> = {};
  const sizes: Record<string, { bytes: number; encoding: string }> = {};
  let bare: Bare | null = null;
  try {
    for (const c of cases.filter((x) => !x.bare)) {
      // The first request builds the sort index and fills the page caches; it must answer 200.
      const s = await wireSize(`${reg.url}${c.path}`, c.gzip);
      if (s.status !== 200) throw new Error(`${c.path}: ${s.status}`);
      sizes[c.key] = { bytes: s.bytes, encoding: s.encoding };
    }
    bare = await startBare((await httpGet(`${reg.url}${JSON_SAME_SIZE_PATH}`)).body, (await httpGet(`${reg.url}${WEB_PATH}`)).body);
    // Interleaved rounds: on a shared machine the load drifts, and a ratio of two runs minutes apart would measure it.
    for (let round = 0; round < S.rounds; round++) for (const c of cases) {
      const server = c.bare ? bare : reg;
      const r = await runLoad(
        {
          url: server.url, connections: S.connections, warmupS: S.warmupS, durationS: S.durationS, maxRequests: S.maxRequests,
          mode: "get", path: c.path, engine: S.client, headers: c.gzip ? { "Accept-Encoding": "gzip" } : undefined,
        },
        server.pid,
      );
      (all[c.key] ??= []).push(r);
      log(`web ${c.key} #${round + 1}: ${Math.round(r.rps)} req/s, p99 ${(r.latencyUs.p99 / 1000).toFixed(2)} ms`);
    }
  } finally {
    await bare?.stop();
    await reg.stop();
  }

  const mean = (rs: LoadResult[], f: (r: LoadResult) => number) => rs.reduce((a, r) => a + f(r), 0) / rs.length;
  const m: Record<string, Summary> = Object.fromEntries(
    Object.entries(all).map(([k, rs]) => [k, {
      rps: mean(rs, (r) => r.rps),
      p50ms: mean(rs, (r) => r.latencyUs.p50) / 1000,
      p99ms: Math.max(...rs.map((r) => r.latencyUs.p99)) / 1000,
      cpuUsPerReq: rs.every((r) => r.serverCpu != null) ? mean(rs, (r) => (1e6 * r.serverCpu!) / r.rps) : null,
      generatorCpu: mean(rs, (r) => r.generatorCpu),
      failures: rs.reduce((a, r) => a + r.non2xx + r.errors + r.timeouts, 0),
      each: rs.map((r) => Math.round(r.rps)),
    }]),
  );
  const f0 = (n: number) => Math.round(n).toLocaleString("en-US");
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
  const rows: Row[] = [];
  for (const c of cases) {
    const r = m[c.key];
    const cpu = r.cpuUsPerReq === null ? "" : `, server CPU ${Math.round(r.cpuUsPerReq)} µs/req`;
    rows.push({ section: "web page", metric: `${c.label}: req/s, p50 / p99`, value: `${f0(r.rps)}, ${r.p50ms.toFixed(2)} / ${r.p99ms.toFixed(2)} ms [runs ${r.each.map(f0).join(", ")}${cpu}]`, target: "-", met: "-" });
    if (r.failures) rows.push({ section: "web page", metric: `${c.label}: failures`, value: `${r.failures} non-2xx, errors or timeouts`, target: "0", met: "NOT MET" });
  }
  const ratio = m.page.rps / m.json.rps;
  const ratioGzip = m.pageGzip.rps / m.jsonGzip.rps;
  const ratio50 = m.page.rps / m.json50.rps;
  const yes = (b: boolean) => (b ? "met" : "NOT MET");
  rows.push({ section: "web page", metric: `HTML page / JSON listing throughput at ${f0(S.servers)} servers`, value: `${(100 * ratio).toFixed(0)} %`, target: `≥ ${WEB_MIN_RATIO * 100} %`, met: yes(ratio >= WEB_MIN_RATIO) });
  rows.push({ section: "web page", metric: `HTML page / the JSON listing row (${JSON_LISTING_PATH})`, value: `${(100 * ratio50).toFixed(0)} %`, target: `≥ ${WEB_MIN_RATIO * 100} %`, met: yes(ratio50 >= WEB_MIN_RATIO) });
  rows.push({ section: "web page", metric: "same, both with Accept-Encoding: gzip", value: `${(100 * ratioGzip).toFixed(0)} %`, target: `≥ ${WEB_MIN_RATIO * 100} %`, met: yes(ratioGzip >= WEB_MIN_RATIO) });
  const ceiling = m.barePage.rps / m.bareJson.rps;
  rows.push({
    section: "web page",
    metric: "the same bytes from bare uWS: HTML / JSON throughput; the page's share of its ceiling, the JSON's of its",
    value: `${(100 * ceiling).toFixed(0)} %; ${(100 * (m.page.rps / m.barePage.rps)).toFixed(0)} %, ${(100 * (m.json.rps / m.bareJson.rps)).toFixed(0)} %`,
    target: "-",
    met: "-",
  });
  rows.push({
    section: "web page",
    metric: "gzip cost: throughput with gzip / without (page; JSON)",
    value: `${(100 * (m.pageGzip.rps / m.page.rps)).toFixed(0)} %; ${(100 * (m.jsonGzip.rps / m.json.rps)).toFixed(0)} %`,
    target: "-",
    met: "-",
  });
  rows.push({
    section: "web page",
    metric: "body bytes plain → gzip (page; JSON)",
    value: `${kb(sizes.page.bytes)} → ${kb(sizes.pageGzip.bytes)}; ${kb(sizes.json.bytes)} → ${kb(sizes.jsonGzip.bytes)}`,
    target: "-",
    met: "-",
  });
  const result = {
    servers: S.servers,
    pageSize: PAGE_SIZE,
    ratio: Number(ratio.toFixed(3)),
    ratioGzip: Number(ratioGzip.toFixed(3)),
    ratioToListingRow: Number(ratio50.toFixed(3)),
    bareRatio: Number(ceiling.toFixed(3)),
    sizes,
    rounds: S.rounds,
    runs: m,
  };
  return { rows, result };
}
