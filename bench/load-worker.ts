// Load generator, run as its own process (node --import tsx bench/load-worker.ts '<json spec>') so it never shares
// an event loop with the registrar or the harness. Every run is bounded by a request count AND a wall-clock time.
// Latencies are recorded here in microseconds with hdr-histogram-js. Prints one JSON line with the result.
//
// Two engines:
// - "raw" (default): a lean keep-alive HTTP/1.1 client on plain sockets. Requests are pre-rendered bytes; a
//   response is read as status line + Content-Length + that many body bytes, counted, never decoded. On a 2-core
//   machine the generator competes with the server for CPU, so the cheaper it is, the more the numbers say about
//   the server rather than about the generator.
// - "autocannon": autocannon with `requests`/`setupRequest` (rotating heartbeat domains), for comparison.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import autocannon from "autocannon";
import * as hdr from "hdr-histogram-js";
import { benchToken } from "./data.js";

export type LoadSpec = {
  url: string; // origin, e.g. http://127.0.0.1:1234
  connections: number;
  warmupS: number;
  durationS: number;
  maxRequests: number;
  mode: "get" | "heartbeat";
  /** get: path with query. */
  path?: string;
  /** heartbeat: file with one domain per line; requests rotate through them. */
  domainsFile?: string;
  engine?: "raw" | "autocannon";
  /** get: add a distinct unknown parameter (`&_bench=N`, ignored by the API) to every request, so no response cache can answer. */
  cacheBust?: boolean;
  /** get: extra request headers, e.g. {"Accept-Encoding": "gzip"}. */
  headers?: Record<string, string>;
};

export type LoadResult = {
  engine: string;
  requests2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  seconds: number;
  rps: number;
  bytesPerResponse: number;
  latencyUs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
  statusCodes: Record<string, number>;
  /** CPU time this load generator used during the measured run, as a share of one core. */
  generatorCpu: number;
  /** CPU time the server process used during the measured run (filled in by the harness from /proc), share of one core. */
  serverCpu?: number;
  /** 1-minute load average of the machine when the run started (filled in by the harness). */
  loadavg1?: number;
};

type Tally = {
  hist: hdr.Histogram;
  record: boolean;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  bytes: number;
  codes: Record<string, number>;
};

const spec: LoadSpec = JSON.parse(process.argv[2]);
const engine = spec.engine ?? "raw";

function onResponse(t: Tally, status: number, bytes: number, latencyUs: number): void {
  t.codes[status] = (t.codes[status] ?? 0) + 1;
  if (status >= 200 && status < 300) {
    t.ok++;
    t.bytes += bytes;
    if (t.record) t.hist.recordValue(Math.max(1, Math.round(latencyUs)));
  } else t.non2xx++;
}

// ------------------------------------------------------------------ heartbeat request material
function heartbeatMaterial(s: LoadSpec) {
  const domains = readFileSync(s.domainsFile!, "utf8").split("\n").filter(Boolean);
  return { domains, paths: domains.map((d) => `/v1/servers/${d}/heartbeat`), auths: domains.map((d) => `Bearer ${benchToken(d)}`) };
}
/** A heartbeat body; user_count varies from one heartbeat to the next, like real stats. */
const hbBody = (k: number, variant: number) => `{"user_count":${(k * 31 + variant * 7919) % 5000},"channel_count":${(k % 40) + 1}}`;
const HB_VARIANTS = 4;
/** Distinct cache-busting variants; more than any page cache keeps, so each comes back long after it was evicted. */
const BUST_VARIANTS = 65_536;

// ------------------------------------------------------------------ raw engine
function renderRequests(s: LoadSpec): Buffer[] {
  const host = new URL(s.url).host;
  if (s.mode === "get") {
    const extra = Object.entries(s.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join("");
    if (!s.cacheBust) return [Buffer.from(`GET ${s.path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`, "latin1")];
    const sep = s.path!.includes("?") ? "&" : "?";
    return Array.from({ length: BUST_VARIANTS }, (_, i) => Buffer.from(`GET ${s.path}${sep}_bench=${i} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`, "latin1"));
  }
  const { paths, auths } = heartbeatMaterial(s);
  // Request i is domain i % n with body variant floor(i / n) % HB_VARIANTS: consecutive heartbeats of one domain differ.
  const out: Buffer[] = [];
  for (let v = 0; v < HB_VARIANTS; v++) {
    for (let k = 0; k < paths.length; k++) {
      const body = hbBody(k, v);
      out.push(
        Buffer.from(
          `POST ${paths[k]} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${auths[k]}\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
          "latin1",
        ),
      );
    }
  }
  return out;
}

const CRLFCRLF = Buffer.from("\r\n\r\n");

function runRaw(s: LoadSpec, requests: Buffer[], seconds: number, maxRequests: number, t: Tally): Promise<void> {
  const { hostname, port } = new URL(s.url);
  let next = 0;
  let sent = 0;
  let stop = false;
  let open = 0;
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => (stop = true), seconds * 1000);
    const finished = () => {
      if (--open === 0) {
        clearTimeout(timer);
        resolve();
      }
    };
    for (let c = 0; c < s.connections; c++) {
      open++;
      const sock = net.connect({ host: hostname, port: Number(port), noDelay: true });
      let head: Buffer | null = null; // header bytes so far (until CRLFCRLF)
      let remaining = -1; // body bytes still to come; -1 while reading the header
      let status = 0;
      let size = 0;
      let startedNs = 0n;
      let ended = false;
      let reqTimer: NodeJS.Timeout | null = null;
      const end = () => {
        if (ended) return;
        ended = true;
        if (reqTimer) clearTimeout(reqTimer);
        sock.destroy();
        finished();
      };
      const send = () => {
        if (stop || sent >= maxRequests) return end();
        sent++;
        const buf = requests[next++ % requests.length];
        head = null;
        remaining = -1;
        startedNs = process.hrtime.bigint();
        if (reqTimer) reqTimer.refresh();
        else
          reqTimer = setTimeout(() => {
            t.timeouts++;
            end();
          }, 10_000);
        sock.write(buf);
      };
      const complete = () => {
        onResponse(t, status, size, Number(process.hrtime.bigint() - startedNs) / 1000);
        send();
      };
      sock.on("connect", send);
      sock.on("data", (chunk: Buffer) => {
        if (remaining < 0) {
          head = head ? Buffer.concat([head, chunk]) : chunk;
          const i = head.indexOf(CRLFCRLF);
          if (i < 0) return;
          const text = head.toString("latin1", 0, i);
          status = Number(text.slice(9, 12));
          const m = /\r\ncontent-length: *(\d+)/i.exec(text);
          const length = m ? Number(m[1]) : 0;
          const bodyHere = head.length - (i + 4);
          size = i + 4 + length;
          remaining = length - bodyHere;
          if (remaining < 0) {
            // More than one response in a chunk cannot happen without pipelining.
            t.errors++;
            return end();
          }
        } else {
          remaining -= chunk.length;
        }
        if (remaining === 0) complete();
        else if (remaining < 0) {
          t.errors++;
          end();
        }
      });
      sock.on("error", () => {
        t.errors++;
        end();
      });
      sock.on("close", end);
    }
  });
}

// ------------------------------------------------------------------ autocannon engine
function autocannonRequests(s: LoadSpec): autocannon.Request[] {
  if (s.mode === "get") {
    const headers = s.headers ?? {};
    if (!s.cacheBust) return [{ method: "GET", path: s.path!, headers }];
    const sep = s.path!.includes("?") ? "&" : "?";
    let n = 0;
    return [{ method: "GET", headers, setupRequest: (req) => ({ ...req, path: `${s.path}${sep}_bench=${n++ % BUST_VARIANTS}` }) }];
  }
  const { domains, paths, auths } = heartbeatMaterial(s);
  let i = 0;
  return [
    {
      method: "POST",
      setupRequest: (req) => {
        const k = i % domains.length;
        const v = Math.floor(i / domains.length) % HB_VARIANTS;
        i++;
        req.path = paths[k];
        req.headers = { "content-type": "application/json", authorization: auths[k] };
        req.body = hbBody(k, v);
        return req;
      },
    },
  ];
}

function patchAutocannon(): void {
  // autocannon appends every body chunk to a string (`req.body += data`), i.e. UTF-8-decodes each response. Nothing
  // here reads bodies, and that decoding costs more for non-ASCII bodies (the listing has "Français" in it) than for
  // ASCII ones: skip it, so the generator's cost does not depend on the body's content.
  const require = createRequire(import.meta.url);
  const Queue = require("autocannon/lib/pipelinedRequestsQueue.js") as { prototype: { addBody(data: Buffer): void } };
  Queue.prototype.addBody = function addBody() {};
}

async function runAutocannon(s: LoadSpec, seconds: number, maxRequests: number, t: Tally): Promise<void> {
  const instance = autocannon(
    { url: s.url, connections: s.connections, pipelining: 1, amount: maxRequests, timeout: 10, requests: autocannonRequests(s) },
    () => {},
  );
  instance.on("response", (_client: unknown, status: number, resBytes: number, responseTime: number) => onResponse(t, status, resBytes, responseTime * 1000));
  instance.on("reqError", () => t.errors++);
  instance.on("timeout", () => t.timeouts++);
  // The time bound: autocannon's `amount` is the count bound, this timer the wall-clock one.
  const timer = setTimeout(() => instance.stop(), seconds * 1000);
  await new Promise<void>((resolve) => instance.on("done", () => resolve()));
  clearTimeout(timer);
}

// ------------------------------------------------------------------ one bounded run
async function runOnce(s: LoadSpec, seconds: number, maxRequests: number, record: boolean, raw: Buffer[] | null): Promise<LoadResult> {
  hdr.initWebAssemblySync();
  const t: Tally = {
    hist: hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 }),
    record, ok: 0, non2xx: 0, errors: 0, timeouts: 0, bytes: 0, codes: {},
  };
  if (record) process.stdout.write("MEASURE_START\n");
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  if (raw) await runRaw(s, raw, seconds, maxRequests, t);
  else await runAutocannon(s, seconds, maxRequests, t);
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const p = (q: number) => t.hist.getValueAtPercentile(q);
  const result: LoadResult = {
    engine,
    requests2xx: t.ok,
    non2xx: t.non2xx,
    errors: t.errors,
    timeouts: t.timeouts,
    seconds: elapsed,
    rps: t.ok / elapsed,
    bytesPerResponse: t.ok ? t.bytes / t.ok : 0,
    latencyUs: { p50: p(50), p90: p(90), p99: p(99), p999: p(99.9), max: t.hist.maxValue, mean: t.hist.mean },
    statusCodes: t.codes,
    generatorCpu: (cpu.user + cpu.system) / 1e6 / elapsed,
  };
  t.hist.destroy();
  return result;
}

const hardStop = setTimeout(() => {
  process.stderr.write("load worker: hard time limit reached\n");
  process.exit(2);
}, (spec.warmupS + spec.durationS + 30) * 1000);

const raw = engine === "raw" ? renderRequests(spec) : null;
if (!raw) patchAutocannon();
if (spec.warmupS > 0) await runOnce(spec, spec.warmupS, spec.maxRequests, false, raw);
const result = await runOnce(spec, spec.durationS, spec.maxRequests, true, raw);
clearTimeout(hardStop);
process.stdout.write(JSON.stringify(result) + "\n");
process.exit(0);
