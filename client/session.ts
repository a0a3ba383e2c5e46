// ServerSession: what a Zent or Ecto server embeds to stay online: identify on /v1/ws/server, heartbeat at the
// interval the registrar announces, reconnect (next URL, jittered backoff), report status changes (contract §4).
import type { BackoffOptions } from "./backoff.js";
import { Connector, type Disposition } from "./connector.js";
import { Emitter } from "./emitter.js";
import { SessionClosedError } from "./errors.js";
import type { WebSocketConstructor } from "./socket.js";
import { CloseCodes, type HeartbeatStats, type RegistryEvent } from "./types.js";

export const SESSION_PATH = "/v1/ws/server";
export const SESSION_PROTOCOL = 1;

export type SessionStatus = "connecting" | "identifying" | "online" | "reconnecting" | "stopped";

export type SessionStatusInfo = { url: string; code?: number; reason?: string; retryInMs?: number };

export type ServerSessionEvents = {
  /** The session's own state: connecting → identifying → online, then reconnecting … or stopped. */
  status: (status: SessionStatus, info: SessionStatusInfo) => void;
  ready: (info: { sessionId: string; url: string; heartbeatIntervalMs: number }) => void;
  heartbeatAck: (seq: number) => void;
  /** Events about this server pushed by the registrar (rating.created, server.status, server.updated, …). */
  event: (ev: RegistryEvent) => void;
  /** The registrar's view of this server changed (a server.status event). */
  serverStatus: (status: "online" | "offline", lastSeen: string) => void;
  /** Fatal (bad token, unsupported protocol, replaced by a newer session): the session has stopped. */
  error: (err: Error) => void;
};

export type ServerSessionOptions = {
  /** One registrar URL or several (tried in turn): `https://reg.example.com` or a full `wss://…/v1/ws/server`. */
  urls: string | readonly string[];
  domain: string;
  token: string;
  /** Called at every heartbeat; its result is sent as the heartbeat's stats. */
  stats?: () => HeartbeatStats | undefined;
  /** Defaults to the global WebSocket, else the `ws` package. */
  WebSocket?: WebSocketConstructor;
  backoff?: Partial<BackoffOptions>;
};

// Retrying cannot fix these: a wrong token, a protocol we do not speak, or another connection taking over.
const FATAL = new Set<number>([CloseCodes.authenticationFailed, CloseCodes.unsupportedProtocol, CloseCodes.sessionReplaced]);

/** Missed acks before the connection is considered dead and replaced. */
const MAX_UNACKED = 2;

export class ServerSession extends Emitter<ServerSessionEvents> {
  private readonly conn: Connector;
  private token: string;
  private state: SessionStatus = "stopped";
  private heartbeatIntervalMs = 30_000;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private seq = 0;
  private lastAcked = 0;
  private id: string | null = null;

  constructor(private readonly o: ServerSessionOptions) {
    super();
    this.token = o.token;
    this.conn = new Connector(
      { urls: o.urls, path: SESSION_PATH, WebSocket: o.WebSocket, backoff: o.backoff },
      {
        connecting: (url) => this.setStatus("connecting", { url }),
        open: () => {},
        message: (msg) => this.onMessage(msg),
        closed: (code, reason) => this.onClosed(code, reason),
        retrying: (retryInMs, url, code, reason) => this.setStatus("reconnecting", { url, code, reason, retryInMs }),
      },
    );
  }

  get status(): SessionStatus {
    return this.state;
  }

  get sessionId(): string | null {
    return this.id;
  }

  /** The registrar URL in use (or about to be tried). */
  get url(): string {
    return this.conn.url;
  }

  start(): this {
    this.conn.start();
    return this;
  }

  async stop(): Promise<void> {
    this.clearTimer();
    await this.conn.stop();
    this.setStatus("stopped", { url: this.conn.url });
  }

  /** After a token rotation: reconnects at once and identifies with the new token. */
  setToken(token: string): void {
    this.token = token;
    if (this.conn.running) this.conn.drop();
  }

  private onMessage(msg: Record<string, unknown>): void {
    switch (msg.op) {
      case "hello": {
        const protocols = Array.isArray(msg.protocols) ? msg.protocols : [SESSION_PROTOCOL];
        if (!protocols.includes(SESSION_PROTOCOL)) {
          this.fatal(new SessionClosedError(CloseCodes.unsupportedProtocol, `registrar speaks protocols ${protocols.join(", ")}`));
          return;
        }
        if (typeof msg.heartbeat_interval_ms === "number" && msg.heartbeat_interval_ms > 0) this.heartbeatIntervalMs = msg.heartbeat_interval_ms;
        this.setStatus("identifying", { url: this.conn.url });
        this.conn.send({ op: "identify", domain: this.o.domain, token: this.token, protocol: SESSION_PROTOCOL });
        return;
      }
      case "ready":
        this.id = String(msg.session_id);
        this.seq = 0;
        this.lastAcked = 0;
        this.conn.succeeded();
        this.setStatus("online", { url: this.conn.url });
        this.emit("ready", { sessionId: this.id, url: this.conn.url, heartbeatIntervalMs: this.heartbeatIntervalMs });
        this.schedule();
        return;
      case "heartbeat_ack":
        if (typeof msg.seq === "number") {
          this.lastAcked = Math.max(this.lastAcked, msg.seq);
          this.emit("heartbeatAck", msg.seq);
        }
        return;
      case "event": {
        const ev = msg as unknown as RegistryEvent;
        this.emit("event", ev);
        if (ev.type === "server.status" && ev.domain === this.o.domain) {
          this.emit("serverStatus", ev.data.status as "online" | "offline", String(ev.data.last_seen));
        }
        return;
      }
    }
  }

  private schedule(): void {
    this.clearTimer();
    this.timer = setTimeout(() => this.beat(), this.heartbeatIntervalMs);
  }

  private beat(): void {
    this.timer = null;
    if (this.state !== "online") return;
    if (this.seq - this.lastAcked >= MAX_UNACKED) {
      // The registrar stopped answering (half-open TCP, stuck node): go elsewhere rather than wait for TCP.
      this.conn.drop();
      return;
    }
    let stats: HeartbeatStats | undefined;
    try {
      stats = this.o.stats?.();
    } catch {
      stats = undefined; // a failing stats callback must not cost the server its online status
    }
    this.seq++;
    this.conn.send(stats ? { op: "heartbeat", seq: this.seq, stats } : { op: "heartbeat", seq: this.seq });
    this.schedule();
  }

  private onClosed(code: number, reason: string): Disposition {
    this.clearTimer();
    this.id = null;
    if (FATAL.has(code)) {
      this.fatal(new SessionClosedError(code, reason));
      return "fatal";
    }
    return code === CloseCodes.restarting ? "restart" : "retry";
  }

  private fatal(err: SessionClosedError): void {
    this.clearTimer();
    if (this.conn.running) void this.conn.stop();
    this.setStatus("stopped", { url: this.conn.url, code: err.code, reason: err.reason });
    this.emit("error", err);
  }

  private setStatus(status: SessionStatus, info: SessionStatusInfo): void {
    if (status === this.state && status !== "reconnecting") return;
    this.state = status;
    this.emit("status", status, info);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
