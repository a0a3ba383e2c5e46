// Feed: a subscription to /v1/feed that resumes from its last seq after any disconnect and handles `reset`
// (contract §5), so its listener sees each matching event once, in seq order.
import type { BackoffOptions } from "./backoff.js";
import { Connector, type Disposition } from "./connector.js";
import { Emitter } from "./emitter.js";
import { SessionClosedError } from "./errors.js";
import type { WebSocketConstructor } from "./socket.js";
import { CloseCodes, type EventType, type RegistryEvent } from "./types.js";

export const FEED_PATH = "/v1/feed";

export type FeedStatus = "connecting" | "subscribed" | "reconnecting" | "stopped";

export type FeedEvents = {
  event: (ev: RegistryEvent) => void;
  /** Events after `lastSeq` were pruned before this client saw them: re-list, then carry on (events continue). */
  reset: (info: { lastSeq: number }) => void;
  status: (status: FeedStatus, info: { url: string; code?: number; reason?: string; retryInMs?: number }) => void;
  /** Fatal: the registrar refused the subscription itself (4000, e.g. an unknown event type). */
  error: (err: Error) => void;
};

export type FeedOptions = {
  urls: string | readonly string[];
  types?: EventType[];
  domains?: string[];
  /** Resume after this seq (e.g. persisted from an earlier run); default: from the registrar's newest event. */
  afterSeq?: number;
  WebSocket?: WebSocketConstructor;
  backoff?: Partial<BackoffOptions>;
};

export class Feed extends Emitter<FeedEvents> {
  private readonly conn: Connector;
  private seq: number | undefined;
  private state: FeedStatus = "stopped";

  constructor(private readonly o: FeedOptions) {
    super();
    this.seq = o.afterSeq;
    this.conn = new Connector(
      { urls: o.urls, path: FEED_PATH, WebSocket: o.WebSocket, backoff: o.backoff },
      {
        connecting: (url) => this.setStatus("connecting", { url }),
        open: () => {},
        message: (msg) => this.onMessage(msg),
        closed: (code, reason) => this.onClosed(code, reason),
        retrying: (retryInMs, url, code, reason) => this.setStatus("reconnecting", { url, code, reason, retryInMs }),
      },
    );
  }

  /** The seq this feed has seen everything (that matches) up to; what it resumes after. */
  get position(): number | undefined {
    return this.seq;
  }

  get status(): FeedStatus {
    return this.state;
  }

  start(): this {
    this.conn.start();
    return this;
  }

  async stop(): Promise<void> {
    await this.conn.stop();
    this.setStatus("stopped", { url: this.conn.url });
  }

  private onMessage(msg: Record<string, unknown>): void {
    switch (msg.op) {
      case "hello":
        // Always subscribe with after_seq, even the first time: events committed between hello and subscribe
        // are then replayed instead of lost.
        this.seq ??= Number(msg.last_seq);
        this.conn.send({
          op: "subscribe",
          ...(this.o.types ? { types: this.o.types } : {}),
          ...(this.o.domains ? { domains: this.o.domains } : {}),
          after_seq: this.seq,
        });
        this.setStatus("subscribed", { url: this.conn.url });
        return;
      case "event": {
        const ev = msg as unknown as RegistryEvent;
        if (this.seq !== undefined && ev.seq <= this.seq) return; // already delivered
        this.seq = ev.seq;
        this.conn.succeeded();
        const { op: _op, ...event } = msg;
        this.emit("event", event as unknown as RegistryEvent);
        return;
      }
      case "reset":
        this.seq = Number(msg.last_seq);
        this.emit("reset", { lastSeq: this.seq });
        return;
    }
  }

  private onClosed(code: number, reason: string): Disposition {
    if (code === CloseCodes.invalidMessage) {
      this.setStatus("stopped", { url: this.conn.url, code, reason });
      this.emit("error", new SessionClosedError(code, reason));
      return "fatal";
    }
    return code === CloseCodes.restarting ? "restart" : "retry";
  }

  private setStatus(status: FeedStatus, info: { url: string; code?: number; reason?: string; retryInMs?: number }): void {
    if (status === this.state && status !== "reconnecting") return;
    this.state = status;
    this.emit("status", status, info);
  }
}
