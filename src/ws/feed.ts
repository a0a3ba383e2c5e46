// The public push feed on /v1/feed (contract §5): hello, subscribe with filters, replay from after_seq joined to
// the live stream with no gap and no duplicate, reset past retention, slow consumers closed with 1013.
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, WebSocketBehavior } from "uWebSockets.js";
import { UWS_COMPRESSION_DISABLED } from "../uws.js";
import type { RegistryEvent } from "../core/events.js";
import type { Logger } from "../log.js";
import { CloseCode, CloseError, closeCodeForError } from "./close-codes.js";
import { closeConnection, decodeMessage, newConnectionState, SEND_DROPPED, sendFrame, type ConnectionState, type InboundLimits } from "./connection.js";
import { matches, topicsFor, topicsOf, type FeedFilter } from "./feed-filter.js";
import { eventFrame, feedHelloFrame, resetFrame } from "./frames.js";
import { upgradeWith } from "./upgrade.js";
import { describeIssues, FEED_OPS, Subscribe } from "./ws-messages.js";

export const FEED_DEFAULTS = {
  /** Unread bytes a live subscriber may pile up before it is closed with 1013 (contract §5.4). */
  maxBufferedBytes: 1024 * 1024,
  /** uWS maxBackpressure = maxBufferedBytes + this; pub/sub drops silently above it, so we never let it get there. */
  headroomBytes: 4 * 1024 * 1024,
  /** Replay pauses for `drain` above this many unread bytes (replay is paced, never dropped). */
  replayHighWaterBytes: 256 * 1024,
  replayPageSize: 500,
  /** Live events held for one subscriber while its replay runs; more means it cannot catch up: 1013. */
  maxPendingEvents: 50_000,
  sweepIntervalMs: 100,
  maxFrameBytes: 1024 * 1024,
} as const;
export type FeedOptions = { -readonly [K in keyof typeof FEED_DEFAULTS]: number };

/** What the feed reads from the events table. */
export type FeedStore = {
  readEvents(afterSeq: number, limit: number, uptoSeq: number): Promise<RegistryEvent[]>;
  /** Smallest retained seq, 0 when the table is empty. */
  oldestSeq(): Promise<number>;
  /** Largest committed seq, 0 when the table is empty. */
  newestSeq(): Promise<number>;
};

export type FeedDeps = {
  app: TemplatedApp;
  /** The newest seq this node has delivered in order (EventSequencer.last). */
  lastSeq: () => number;
  store: FeedStore;
  retentionMs: number;
  limits: InboundLimits;
  onClose: (code: number) => void;
  onReset: () => void;
  /** The client address of an upgrade request (trusted-proxy rules applied), read synchronously. */
  clientIp: (res: HttpResponse, req: HttpRequest) => string;
  /** Open connections per client address; the next one is closed with 1008 (contract §10). */
  maxPerIp: number;
  log: Logger;
  now?: () => number;
  options?: Partial<FeedOptions>;
};

type Phase = "new" | "catching_up" | "waiting" | "live";

type FeedState = ConnectionState & {
  /** The client address this connection counts against (FEED_MAX_PER_IP). */
  ip: string;
  /** Whether it was let in and counted in `perIp` (a connection over the cap is closed without being counted). */
  counted: boolean;
  phase: Phase;
  filter: FeedFilter;
  /** Highest seq this subscriber has been given or has passed over (not matching, or never committed). */
  cursor: number;
  /** Live events that arrived while replay ran; null outside catching_up. */
  pending: RegistryEvent[] | null;
  /** Resolves the replay's wait for `drain`. */
  drained: (() => void) | null;
};

type Subscriber = WebSocket<FeedState>;

const NO_FILTER: FeedFilter = { types: null, domains: null };

export class Feed {
  private readonly o: FeedOptions;
  private readonly now: () => number;
  private readonly open = new Set<Subscriber>();
  /** Open connections per client address. */
  private readonly perIp = new Map<string, number>();
  /** Subscribers fed by JavaScript: replaying (events go to `pending`) or waiting for this node to catch up. */
  private readonly catchingUp = new Set<Subscriber>();
  /** Subscribers fed by uWS pub/sub. */
  private readonly live = new Set<Subscriber>();
  /** Frames of recent live events, so catching-up subscribers do not serialise them again. */
  private readonly frames = new WeakMap<RegistryEvent, string>();
  private publishedSinceSweep = 0;
  private readonly sweepBudgetBytes: number;
  private readonly sweeper: NodeJS.Timeout;
  private shuttingDown = false;

  constructor(private readonly d: FeedDeps) {
    this.o = { ...FEED_DEFAULTS, ...d.options };
    this.now = d.now ?? Date.now;
    // Between two sweeps a subscriber gains at most what was published (each event reaches it once); keep that
    // under the headroom, with room for the close frame.
    this.sweepBudgetBytes = Math.max(64 * 1024, this.o.headroomBytes - 64 * 1024);
    this.sweeper = setInterval(() => this.sweep(), this.o.sweepIntervalMs);
    this.sweeper.unref();
  }

  get subscribers(): number {
    return this.live.size + this.catchingUp.size;
  }

  get connections(): number {
    return this.open.size;
  }

  /** Replays (or catch-ups) paused until their client reads what it was sent; none of them holds a DB connection. */
  get pausedReplays(): number {
    let n = 0;
    for (const ws of this.catchingUp) if (ws.getUserData().drained !== null) n++;
    return n;
  }

  behavior(): WebSocketBehavior<FeedState> {
    return {
      compression: UWS_COMPRESSION_DISABLED,
      maxPayloadLength: this.o.maxFrameBytes,
      maxBackpressure: this.o.maxBufferedBytes + this.o.headroomBytes,
      idleTimeout: 120,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => upgradeWith(res, req, context, this.shuttingDown ? null : this.newState(this.d.clientIp(res, req))),
      open: (ws) => {
        const s = ws.getUserData();
        const held = this.perIp.get(s.ip) ?? 0;
        if (held >= this.d.maxPerIp) {
          closeConnection(ws, CloseCode.policyViolation, `too many feed connections from this address (at most ${this.d.maxPerIp})`);
          return;
        }
        this.perIp.set(s.ip, held + 1);
        s.counted = true;
        this.open.add(ws);
        sendFrame(ws, feedHelloFrame(this.d.lastSeq()), this.o.maxBufferedBytes);
      },
      message: (ws, message, isBinary) => {
        try {
          this.onMessage(ws, message, isBinary);
        } catch (err) {
          this.fail(ws, err);
        }
      },
      drain: (ws) => {
        const s = ws.getUserData();
        if (s.drained !== null && ws.getBufferedAmount() <= this.o.replayHighWaterBytes / 2) this.resume(s);
      },
      close: (ws, code) => {
        const s = ws.getUserData();
        s.closed = true;
        s.pending = null;
        if (s.counted) this.release(s.ip);
        this.open.delete(ws);
        this.catchingUp.delete(ws);
        this.live.delete(ws);
        if (s.drained !== null) this.resume(s);
        this.d.onClose(code);
      },
    };
  }

  /** Hands one live event (in seq order, from the sequencer) to every subscriber. */
  deliver(ev: RegistryEvent, frame: string): void {
    if (this.live.size > 0) {
      // One UTF-8 copy per event, handed to uWS for every topic.
      const payload = Buffer.from(frame);
      if (this.publishedSinceSweep + payload.length > this.sweepBudgetBytes) this.sweep();
      this.publishedSinceSweep += payload.length;
      for (const topic of topicsOf(ev)) this.d.app.publish(topic, payload, false, false);
    }
    if (this.catchingUp.size === 0) return;
    this.frames.set(ev, frame);
    for (const ws of this.catchingUp) {
      const s = ws.getUserData();
      if (s.pending !== null) {
        if (s.pending.length >= this.o.maxPendingEvents) {
          closeConnection(ws, CloseCode.tryAgainLater, "slow consumer: replay fell too far behind");
        } else {
          s.pending.push(ev);
        }
        continue;
      }
      // Waiting: the client's after_seq was ahead of this node's sequencer; skip what it already has.
      if (ev.seq <= s.cursor) continue;
      s.cursor = ev.seq;
      if (matches(s.filter, ev) && !sendFrame(ws, frame, this.o.maxBufferedBytes)) continue;
      // Joining the topics after this event was published: the next one arrives through them, once.
      this.goLive(ws, s);
    }
  }

  /** Closes every connection with 1012 so clients resume on another node; refuses new ones. */
  shutdown(): void {
    this.shuttingDown = true;
    clearInterval(this.sweeper);
    for (const ws of this.open) closeConnection(ws, CloseCode.restarting, "registrar node shutting down; reconnect and resume");
  }

  private newState(ip: string): FeedState {
    return { ...newConnectionState(), ip, counted: false, phase: "new", filter: NO_FILTER, cursor: 0, pending: null, drained: null };
  }

  private release(ip: string): void {
    const held = (this.perIp.get(ip) ?? 1) - 1;
    if (held > 0) this.perIp.set(ip, held);
    else this.perIp.delete(ip);
  }

  private onMessage(ws: Subscriber, message: ArrayBuffer, isBinary: boolean): void {
    const s = ws.getUserData();
    const { value } = decodeMessage(s, message, isBinary, this.d.limits, FEED_OPS, this.now());
    if (s.phase !== "new") throw new CloseError(CloseCode.invalidMessage, "already subscribed");
    const parsed = Subscribe.safeParse(value);
    if (!parsed.success) throw new CloseError(CloseCode.invalidMessage, describeIssues(parsed.error));
    const sub = parsed.data;
    s.filter = { types: sub.types ? new Set(sub.types) : null, domains: sub.domains ? new Set(sub.domains) : null };
    if (sub.after_seq === undefined) {
      s.cursor = this.d.lastSeq();
      this.goLive(ws, s);
      return;
    }
    void this.catchUp(ws, s, sub.after_seq);
  }

  // The seam (contract §5.2): join `catchingUp` and read `upto` in one synchronous step, so every event after
  // `upto` lands in `pending`; replay (after_seq, upto] from MySQL; send `pending`; join the topics in the same
  // synchronous step that found `pending` empty.
  private async catchUp(ws: Subscriber, s: FeedState, afterSeq: number): Promise<void> {
    s.phase = "catching_up";
    s.cursor = afterSeq;
    s.pending = [];
    this.catchingUp.add(ws);
    const upto = this.d.lastSeq();
    try {
      if ((await this.isBeyondRetention(afterSeq, upto)) || (await this.replay(ws, s, upto)) === "reset") {
        if (!s.closed) this.reset(ws, s);
        return;
      }
      for (;;) {
        if (s.closed) return;
        if (s.pending!.length === 0) return this.goLive(ws, s);
        const batch = s.pending!;
        s.pending = [];
        await this.sendPaced(ws, s, batch);
      }
    } catch (err) {
      if (s.closed) return;
      this.d.log.warn({ err }, "feed replay failed");
      closeConnection(ws, CloseCode.internalError, "event store unavailable; reconnect and resume");
    }
  }

  /** True when after_seq names a position whose successors are gone (pruned) or that this cluster never had. */
  private async isBeyondRetention(afterSeq: number, upto: number): Promise<boolean> {
    if (afterSeq === upto) return false;
    if (afterSeq > upto) return afterSeq > (await this.d.store.newestSeq()); // else this node just lags: wait
    const oldest = await this.d.store.oldestSeq();
    return oldest === 0 || oldest > afterSeq + 1;
  }

  private async replay(ws: Subscriber, s: FeedState, upto: number): Promise<"done" | "reset"> {
    for (let first = true; s.cursor < upto; first = false) {
      const page = await this.d.store.readEvents(s.cursor, this.o.replayPageSize, upto);
      if (s.closed) return "done";
      if (first && (page.length === 0 || Date.parse(page[0].at) < this.now() - this.d.retentionMs)) return "reset";
      if (page.length === 0) break;
      await this.sendPaced(ws, s, page);
      if (s.closed) return "done";
    }
    // Seqs up to `upto` that MySQL does not have never committed (seq order is commit order).
    if (s.cursor < upto) s.cursor = upto;
    return "done";
  }

  /** Sends events past the cursor that match, corked, pausing for `drain` whenever the client falls behind. */
  private async sendPaced(ws: Subscriber, s: FeedState, events: RegistryEvent[]): Promise<void> {
    let i = 0;
    while (i < events.length && !s.closed) {
      let dropped = false;
      ws.cork(() => {
        while (i < events.length) {
          const ev = events[i++];
          if (ev.seq <= s.cursor) continue;
          s.cursor = ev.seq;
          if (!matches(s.filter, ev)) continue;
          if (ws.send(this.frames.get(ev) ?? eventFrame(ev), false, false) === SEND_DROPPED) {
            dropped = true;
            return;
          }
          if (ws.getBufferedAmount() > this.o.replayHighWaterBytes) return;
        }
      });
      // Outside the cork: see closeConnection (a close inside ws.cork() off a uWS callback never sends its FIN).
      if (dropped) closeConnection(ws, CloseCode.tryAgainLater, "slow consumer: not reading fast enough");
      if (!s.closed && ws.getBufferedAmount() > this.o.replayHighWaterBytes) {
        await new Promise<void>((resolve) => (s.drained = resolve));
      }
    }
  }

  private resume(s: FeedState): void {
    const resolve = s.drained!;
    s.drained = null;
    resolve();
  }

  /** Contract §5.2: the client must re-list; the subscription then continues live after last_seq. */
  private reset(ws: Subscriber, s: FeedState): void {
    this.d.onReset();
    s.pending = [];
    s.cursor = this.d.lastSeq();
    sendFrame(ws, resetFrame(s.cursor), this.o.maxBufferedBytes);
    if (!s.closed) this.goLive(ws, s);
  }

  private goLive(ws: Subscriber, s: FeedState): void {
    s.pending = null;
    if (s.cursor > this.d.lastSeq()) {
      s.phase = "waiting";
      this.catchingUp.add(ws);
      return;
    }
    this.catchingUp.delete(ws);
    s.phase = "live";
    for (const topic of topicsFor(s.filter)) ws.subscribe(topic);
    this.live.add(ws);
  }

  private fail(ws: Subscriber, err: unknown): void {
    if (ws.getUserData().closed) return;
    const code = closeCodeForError(err);
    if (code === null) this.d.log.error({ err }, "feed connection failed");
    closeConnection(ws, code ?? CloseCode.internalError, code === null ? "internal error" : (err as Error).message);
  }

  // Pub/sub skips a socket over maxBackpressure without telling anyone; checking every live subscriber before
  // that can happen turns "skipped" into an explicit 1013 (contract §5.4).
  private sweep(): void {
    this.publishedSinceSweep = 0;
    for (const ws of this.live) {
      if (ws.getBufferedAmount() > this.o.maxBufferedBytes) {
        closeConnection(ws, CloseCode.tryAgainLater, "slow consumer: not reading fast enough");
      }
    }
  }
}
