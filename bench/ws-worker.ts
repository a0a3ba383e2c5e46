// Load worker of bench/ws.ts, one process per slice of connections (node --import tsx bench/ws-worker.ts '<spec>'),
// driven by its parent over IPC:
//   sessions: opens its slice of /v1/ws/server sessions (hello → identify → ready) and reports "connected"; on
//             {cmd:"run"} every session keeps `window` heartbeats in flight; acks are counted and their latency
//             recorded only in the measured window; then it reports "result". Sessions stay open until "stop".
//   feed:     opens `subscribers` /v1/feed connections, subscribes with no filter, reports "connected". Per round
//             ({cmd:"round"}) it notes when each subscriber received the event of each writer request
//             (bench/ws-writer.ts); on {cmd:"finish", sentAt} it turns that into delivery latencies and counts what
//             each subscriber missed, and reports "result".
// Bounded: every wait has a timeout, the process exits by itself after `maxLifetimeS` and when its parent goes away.
import { readFileSync } from "node:fs";
import * as hdr from "hdr-histogram-js";
import { benchToken } from "./data.js";
import { RawWs, readInt, startsWith } from "./ws-raw.js";

export type SessionsSpec = {
  mode: "sessions";
  host: string;
  port: number;
  path: string;
  domainsFile: string;
  /** This worker's slice of the domains file: [from, to). */
  from: number;
  to: number;
  window: number;
  connectConcurrency: number;
  maxLifetimeS: number;
};

export type FeedSpec = {
  mode: "feed";
  host: string;
  port: number;
  subscribers: number;
  /** Domain i of this file is key i in "domain" rounds. */
  domainsFile: string;
  connectConcurrency: number;
  maxLifetimeS: number;
};

/**
 * One measured round of writer events. `key`: how an event names its writer request k: "tag" = the record's name
 * is `wsb-<k>` (PUT name changes), "domain" = the event's domain is line k of the domains file (status flips).
 */
export type FeedRound = { cmd: "round"; key: "tag" | "domain"; maxK: number };
/**
 * sentAt[k]: the writer's send time of request k (wall ms, µs decimals), -1 when it was not acknowledged.
 * Latencies are recorded for requests sent at or after recordFromWall (the writer's warm-up is not measured).
 */
export type FeedFinish = { cmd: "finish"; sentAt: number[]; recordFromWall: number };

export type WorkerSpec = SessionsSpec | FeedSpec;

export type ConnectedMsg = { type: "connected"; ok: number; failed: number; errors: Record<string, number>; ms: number };

export type SessionsResult = {
  type: "result";
  acks: number;
  seconds: number;
  hist: string;
  /** CPU this worker used in the measured window, as a share of one core. */
  cpu: number;
  closes: Record<string, number>;
  seqErrors: number;
};

export type FeedResult = {
  type: "result";
  subscribers: number;
  /** Subscribers still open at the end of the round. */
  open: number;
  closes: Record<string, number>;
  deliveries: number;
  duplicates: number;
  outOfOrder: number;
  /** Sum over subscribers of the writer's acknowledged requests whose event they did not receive. */
  missed: number;
  /** Events received for requests the writer did not see acknowledged (e.g. its request timed out after commit). */
  unacknowledged: number;
  /** Events that name no writer request of this round. */
  untagged: number;
  resets: number;
  /** Deliveries with receive < send (clock trouble; recorded as 1 µs). */
  negative: number;
  /** send → receive (µs), and event `at` → receive (µs, `at` has ms resolution). */
  hist: string;
  histAt: string;
  cpu: number;
};

const spec: WorkerSpec = JSON.parse(process.argv[2]);
const send = (m: object) => process.send!(m);
const lifetime = setTimeout(() => {
  process.stderr.write(`ws-worker: lifetime of ${spec.maxLifetimeS} s over, exiting\n`);
  process.exit(3);
}, spec.maxLifetimeS * 1000);
process.on("disconnect", () => process.exit(0));

const newHist = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);

async function connectAll(n: number, concurrency: number, open: (i: number) => Promise<void>): Promise<ConnectedMsg> {
  const t0 = performance.now();
  const errors: Record<string, number> = {};
  let next = 0;
  let ok = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const i = next++;
        try {
          await open(i);
          ok++;
        } catch (err) {
          failed++;
          bump(errors, String((err as Error).message).slice(0, 80));
        }
      }
    }),
  );
  return { type: "connected", ok, failed, errors, ms: Math.round(performance.now() - t0) };
}

// ------------------------------------------------------------------ sessions
const P_HELLO = Buffer.from('{"op":"hello"');
const P_READY = Buffer.from('{"op":"ready"');
const P_ACK = Buffer.from('{"op":"heartbeat_ack","seq":');

type Session = { ws: RawWs; seq: number; inFlight: number; sentAt: Float64Array };

async function runSessions(s: SessionsSpec): Promise<void> {
  const domains = readFileSync(s.domainsFile, "utf8").split("\n").filter(Boolean).slice(s.from, s.to);
  const sessions: Session[] = [];
  const closes: Record<string, number> = {};
  const hist = newHist();
  const W = s.window;
  let running = false;
  let recording = false;
  let acks = 0;
  let seqErrors = 0;

  const connected = await connectAll(domains.length, s.connectConcurrency, (i) =>
    new Promise<void>((resolve, reject) => {
      const identify = JSON.stringify({ op: "identify", domain: domains[i], token: benchToken(domains[i]), protocol: 1 });
      let ready = false;
      const timer = setTimeout(() => reject(new Error("no ready within 60 s")), 60_000);
      const ws = new RawWs({
        host: s.host,
        port: s.port,
        path: s.path,
        timeoutMs: 60_000,
        onText: (buf, start, end, now) => {
          if (ready) {
            if (!startsWith(buf, start, end, P_ACK)) return; // events about the server: not part of this bench
            const q = sess;
            const seq = readInt(buf, start + P_ACK.length, end);
            if (seq < 0 || seq >= q.seq || seq < q.seq - W) {
              seqErrors++;
              return;
            }
            q.inFlight--;
            if (recording) {
              acks++;
              hist.recordValue(Math.max(1, Math.round((now - q.sentAt[seq % W]) * 1000)));
            }
            if (running) heartbeat(q);
            return;
          }
          if (startsWith(buf, start, end, P_HELLO)) ws.send(identify);
          else if (startsWith(buf, start, end, P_READY)) {
            ready = true;
            clearTimeout(timer);
            sessions.push(sess);
            resolve();
          }
        },
        onClose: (code) => {
          bump(closes, String(code));
          if (!ready) {
            clearTimeout(timer);
            reject(new Error(`closed ${code} before ready`));
          }
        },
      });
      const sess: Session = { ws, seq: 0, inFlight: 0, sentAt: new Float64Array(W) };
      ws.opened.catch((err) => {
        clearTimeout(timer);
        reject(err);
      });
    }),
  );
  send(connected);

  function heartbeat(q: Session): void {
    const seq = q.seq++;
    q.sentAt[seq % W] = performance.now();
    q.inFlight++;
    q.ws.send(`{"op":"heartbeat","seq":${seq}}`);
  }

  process.on("message", (m: { cmd: string; warmupMs?: number; measureMs?: number }) => {
    if (m.cmd === "run") {
      running = true;
      for (const q of sessions) for (let k = 0; k < W; k++) heartbeat(q);
      setTimeout(() => {
        recording = true;
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        setTimeout(() => {
          recording = false;
          running = false;
          const seconds = (performance.now() - t0) / 1000;
          const c = process.cpuUsage(cpu0);
          const result: SessionsResult = {
            type: "result", acks, seconds, hist: hdr.encodeIntoCompressedBase64(hist), cpu: (c.user + c.system) / 1e6 / seconds, closes, seqErrors,
          };
          send(result);
        }, m.measureMs);
      }, m.warmupMs);
    } else if (m.cmd === "stop") stop(sessions.map((q) => q.ws));
  });
}

// ------------------------------------------------------------------ feed
const P_EVENT = Buffer.from('{"op":"event","seq":');
const P_FEED_HELLO = Buffer.from('{"op":"hello"');
const P_RESET = Buffer.from('{"op":"reset"');
const AT = Buffer.from('"at":"');
const TAG = Buffer.from('"name":"wsb-');
const DOMAIN = Buffer.from('"domain":"');
const SUBSCRIBE = '{"op":"subscribe"}';

type Subscriber = { ws: RawWs; index: number; lastSeq: number; open: boolean };

type Round = {
  key: "tag" | "domain";
  maxK: number;
  /** Per event (by seq), parsed once for all this worker's subscribers: the writer request it belongs to, or -1. */
  kOfSeq: Map<number, number>;
  atOfK: Float64Array;
  /** recv[subscriber * maxK + k]: wall ms when the subscriber received request k's event; 0 = not received. */
  recv: Float64Array;
  deliveries: number;
  duplicates: number;
  outOfOrder: number;
  untagged: number;
  resets: number;
  closes: Record<string, number>;
  cpu0: NodeJS.CpuUsage;
  t0: number;
};

async function runFeed(s: FeedSpec): Promise<void> {
  const subs: Subscriber[] = [];
  const domainIndex = new Map(readFileSync(s.domainsFile, "utf8").split("\n").filter(Boolean).map((d, i) => [d, i]));
  const origin = performance.timeOrigin;
  let round: Round | null = null;

  function keyOf(r: Round, buf: Buffer, start: number, end: number, seq: number): number {
    let k = r.kOfSeq.get(seq);
    if (k !== undefined) return k;
    k = -1;
    if (r.key === "tag") {
      const i = buf.indexOf(TAG, start);
      if (i >= 0 && i < end) k = readInt(buf, i + TAG.length, end);
    } else {
      const i = buf.indexOf(DOMAIN, start);
      const q = i >= 0 && i < end ? buf.indexOf(34 /* " */, i + DOMAIN.length) : -1;
      if (q > 0 && q < end) k = domainIndex.get(buf.toString("latin1", i + DOMAIN.length, q)) ?? -1;
    }
    if (k >= r.maxK) k = -1;
    if (k >= 0) {
      const a = buf.indexOf(AT, start);
      if (a >= 0 && a < end) r.atOfK[k] = Date.parse(buf.toString("latin1", a + AT.length, a + AT.length + 24));
    }
    r.kOfSeq.set(seq, k);
    return k;
  }

  const connected = await connectAll(s.subscribers, s.connectConcurrency, () =>
    new Promise<void>((resolve, reject) => {
      let subscribed = false;
      const timer = setTimeout(() => reject(new Error("no hello within 60 s")), 60_000);
      const ws: RawWs = new RawWs({
        host: s.host,
        port: s.port,
        path: "/v1/feed",
        timeoutMs: 60_000,
        onText: (buf, start, end, now) => {
          if (startsWith(buf, start, end, P_EVENT)) {
            const seq = readInt(buf, start + P_EVENT.length, end);
            const r = round;
            if (r === null) return;
            if (seq <= sub.lastSeq) r.outOfOrder++;
            sub.lastSeq = seq;
            const k = keyOf(r, buf, start, end, seq);
            if (k < 0) {
              r.untagged++;
              return;
            }
            const at = sub.index * r.maxK + k;
            if (r.recv[at] !== 0) {
              r.duplicates++;
              return;
            }
            r.recv[at] = origin + now;
            r.deliveries++;
          } else if (!subscribed && startsWith(buf, start, end, P_FEED_HELLO)) {
            subscribed = true;
            ws.send(SUBSCRIBE);
            clearTimeout(timer);
            sub.index = subs.length;
            subs.push(sub);
            resolve();
          } else if (startsWith(buf, start, end, P_RESET) && round) round.resets++;
        },
        onClose: (code) => {
          sub.open = false;
          if (round) bump(round.closes, String(code));
          if (!subscribed) {
            clearTimeout(timer);
            reject(new Error(`closed ${code} before hello`));
          }
        },
      });
      const sub: Subscriber = { ws, index: -1, lastSeq: 0, open: true };
      ws.opened.catch((err) => {
        clearTimeout(timer);
        reject(err);
      });
    }),
  );
  send(connected);

  process.on("message", (m: FeedRound | FeedFinish | { cmd: "stop" }) => {
    if (m.cmd === "round") {
      round = {
        key: m.key, maxK: m.maxK, kOfSeq: new Map(), atOfK: new Float64Array(m.maxK),
        recv: new Float64Array(subs.length * m.maxK), deliveries: 0, duplicates: 0, outOfOrder: 0, untagged: 0, resets: 0,
        closes: {}, cpu0: process.cpuUsage(), t0: performance.now(),
      };
      send({ type: "round_ready" });
    } else if (m.cmd === "finish" && round) {
      const r = round;
      round = null;
      const c = process.cpuUsage(r.cpu0);
      const cpu = (c.user + c.system) / 1e6 / ((performance.now() - r.t0) / 1000);
      const hist = newHist();
      const histAt = newHist();
      let missed = 0;
      let unacknowledged = 0;
      let negative = 0;
      for (const sub of subs) {
        const base = sub.index * r.maxK;
        for (let k = 0; k < r.maxK; k++) {
          const got = r.recv[base + k];
          const sent = m.sentAt[k] ?? -1;
          if (sent < 0) {
            if (got !== 0) unacknowledged++;
            continue;
          }
          if (got === 0) {
            missed++;
            continue;
          }
          if (sent < m.recordFromWall) continue;
          const us = (got - sent) * 1000;
          if (us < 0) negative++;
          hist.recordValue(Math.max(1, Math.round(us)));
          if (r.atOfK[k] > 0) histAt.recordValue(Math.max(1, Math.round((got - r.atOfK[k]) * 1000)));
        }
      }
      const result: FeedResult = {
        type: "result", subscribers: subs.length, open: subs.filter((x) => x.open).length, closes: r.closes,
        deliveries: r.deliveries, duplicates: r.duplicates, outOfOrder: r.outOfOrder, missed, unacknowledged,
        untagged: r.untagged, resets: r.resets, negative, hist: hdr.encodeIntoCompressedBase64(hist),
        histAt: hdr.encodeIntoCompressedBase64(histAt), cpu,
      };
      send(result);
    } else if (m.cmd === "stop") stop(subs.map((x) => x.ws));
  });
}

function stop(sockets: RawWs[]): void {
  for (const ws of sockets) ws.close(1000);
  // Give the close frames a moment to leave, then go (sockets still open are reset by the exit).
  setTimeout(() => {
    clearTimeout(lifetime);
    process.exit(0);
  }, 500);
}

if (spec.mode === "sessions") await runSessions(spec);
else await runFeed(spec);
