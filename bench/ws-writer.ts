// Event writer of bench/ws.ts (node --import tsx bench/ws-writer.ts '<spec>'): paced HTTP requests over keep-alive
// connections, each one producing one feed event. Request k goes out at t0 + k/rate (never earlier; at most
// `maxInFlight` outstanding, so a registrar that cannot keep up makes it fall behind rather than queue without bound).
//   put:       PUT /v1/servers/<domain k mod n> renaming it to `wsb-<k>` → one `server.updated` event;
//   heartbeat: POST /v1/servers/<domain k>/heartbeat on a server that is offline → one `server.status` event
//              (offline → online), persisted by the registrar's batched status writer.
// Send times are wall-clock ms with µs decimals (performance.timeOrigin + performance.now()), comparable across
// processes on one machine. Prints one JSON line (WriterResult) and exits; bounded by its count, its send phase
// (maxSendS), a 10 s timeout per request and a hard time limit.
import http from "node:http";
import { readFileSync } from "node:fs";
import * as hdr from "hdr-histogram-js";
import { benchToken } from "./data.js";

export type WriterSpec = {
  mode: "put" | "heartbeat";
  host: string;
  port: number;
  domainsFile: string;
  rate: number;
  count: number;
  maxInFlight: number;
  /** No request is started after this many seconds (a registrar slower than `rate` ends the round with fewer). */
  maxSendS: number;
};

export type WriterResult = {
  /** sentAt[k]: send time of request k when it was answered 200 (wall ms), else -1. */
  sentAt: number[];
  okCount: number;
  /** Wall ms when the first request was sent. */
  startWall: number;
  /** Requests started (fewer than `count` when the send phase hit maxSendS). */
  sent: number;
  non200: Record<string, number>;
  errors: number;
  /** Send phase: first request to last request sent. */
  seconds: number;
  /** Achieved send rate (requests started per second over the send phase). */
  rate: number;
  /** Requests that went out more than 5 ms after their slot (the in-flight cap or the event loop held them). */
  late: number;
  httpUs: { p50: number; p99: number; max: number };
};

const spec: WriterSpec = JSON.parse(process.argv[2]);
const hardLimit = setTimeout(() => {
  process.stderr.write("ws-writer: hard time limit reached\n");
  process.exit(3);
}, (spec.maxSendS + 60) * 1000);

const domains = readFileSync(spec.domainsFile, "utf8").split("\n").filter(Boolean);
if (spec.mode === "heartbeat" && domains.length < spec.count) throw new Error(`heartbeat mode needs ${spec.count} domains, the file has ${domains.length}`);
const agent = new http.Agent({ keepAlive: true, maxSockets: spec.maxInFlight });
const hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
const sentAt = new Array<number>(spec.count).fill(-1);
const non200: Record<string, number> = {};
let okCount = 0;
let errors = 0;
let late = 0;
let inFlight = 0;
let next = 0;
let done = 0;
let t0 = 0;
let sendEnd = 0;
/** Requests that will ever be started: count, or fewer once the send phase is over. */
let total = spec.count;

function request(k: number, slotMs: number): void {
  const d = domains[k % domains.length];
  const body = spec.mode === "put" ? `{"name":"wsb-${k}"}` : "{}";
  const now = performance.now();
  if (now - slotMs > 5) late++;
  const wall = performance.timeOrigin + now;
  inFlight++;
  let settled = false;
  const settle = (status: number) => {
    if (settled) return;
    settled = true;
    if (status === 200) {
      sentAt[k] = wall;
      okCount++;
    } else if (status > 0) non200[String(status)] = (non200[String(status)] ?? 0) + 1;
    else errors++;
    finished();
  };
  const req = http.request(
    {
      host: spec.host,
      port: spec.port,
      method: spec.mode === "put" ? "PUT" : "POST",
      path: spec.mode === "put" ? `/v1/servers/${d}` : `/v1/servers/${d}/heartbeat`,
      agent,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), authorization: `Bearer ${benchToken(d)}` },
      timeout: 10_000,
    },
    (res) => {
      res.resume();
      res.on("end", () => {
        hist.recordValue(Math.max(1, Math.round((performance.now() - now) * 1000)));
        settle(res.statusCode ?? 0);
      });
    },
  );
  req.on("timeout", () => req.destroy(new Error("timeout")));
  req.on("error", () => settle(0));
  req.end(body);
}

function finished(): void {
  inFlight--;
  done++;
  pump();
}

function pump(): void {
  const now = performance.now();
  if (sendEnd === 0) {
    if (now - t0 > spec.maxSendS * 1000) total = next; // send phase over: only what is in flight remains
    const due = Math.min(total, Math.floor(((now - t0) * spec.rate) / 1000) + 1);
    while (next < due && inFlight < spec.maxInFlight) {
      request(next, t0 + (next * 1000) / spec.rate);
      next++;
    }
    if (next === total) sendEnd = performance.now();
  }
  if (sendEnd !== 0 && done >= total) report();
}

let reported = false;
function report(): void {
  if (reported) return;
  reported = true;
  clearTimeout(hardLimit);
  clearInterval(ticker);
  const result: WriterResult = {
    sentAt,
    okCount,
    startWall: performance.timeOrigin + t0,
    sent: total,
    non200,
    errors,
    seconds: (sendEnd - t0) / 1000,
    rate: total / ((sendEnd - t0) / 1000),
    late,
    httpUs: { p50: hist.getValueAtPercentile(50), p99: hist.getValueAtPercentile(99), max: hist.maxValue },
  };
  process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0));
}

t0 = performance.now();
const ticker = setInterval(pump, 1);
pump();
