// One reconnecting WebSocket: connects to the current registrar URL, reports messages and closes to its owner,
// and reconnects (next URL, jittered backoff) unless the owner calls the close fatal or stop() was called.
import { Backoff, UrlRing, type BackoffOptions } from "./backoff.js";
import { endpointUrl, messageText, OPEN, resolveWebSocket, type WebSocketConstructor, type WebSocketLike } from "./socket.js";

/** What to do after a close: reconnect with backoff, reconnect soon (node restarting), or give up. */
export type Disposition = "retry" | "restart" | "fatal";

export type ConnectorHooks = {
  connecting(url: string): void;
  open(url: string): void;
  message(msg: Record<string, unknown>): void;
  closed(code: number, reason: string): Disposition;
  retrying(delayMs: number, nextUrl: string, code: number, reason: string): void;
};

export type ConnectorOptions = {
  urls: string | readonly string[];
  path: string;
  WebSocket?: WebSocketConstructor;
  backoff?: Partial<BackoffOptions>;
};

const STOP_WAIT_MS = 2000;

export class Connector {
  private readonly ring: UrlRing;
  private readonly backoff: Backoff;
  private ws: WebSocketLike | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = true;
  private onStopped: (() => void) | null = null;

  constructor(
    private readonly o: ConnectorOptions,
    private readonly hooks: ConnectorHooks,
  ) {
    this.ring = new UrlRing(o.urls);
    this.backoff = new Backoff(o.backoff);
  }

  get url(): string {
    return this.ring.current;
  }

  get running(): boolean {
    return !this.stopped;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  /** Closes with 1000 and stops reconnecting; resolves once the socket is closed (or after 2 s). */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const ws = this.ws;
    if (!ws) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timeout = setTimeout(() => {
        this.ws = null;
        terminate(ws);
        resolve();
      }, STOP_WAIT_MS);
      this.onStopped = () => {
        clearTimeout(timeout);
        resolve();
      };
      ws.close(1000, "client stopping");
    });
  }

  /** The connection works: the next failure backs off from the first step again. */
  succeeded(): void {
    this.backoff.reset();
  }

  send(msg: unknown): boolean {
    if (!this.ws || this.ws.readyState !== OPEN) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  /** Abandons a connection that stopped answering; the close handler then reconnects. */
  drop(): void {
    if (this.ws) terminate(this.ws);
  }

  private async connect(): Promise<void> {
    this.timer = null;
    const url = this.ring.current;
    this.hooks.connecting(url);
    let ws: WebSocketLike;
    try {
      const Ctor = await resolveWebSocket(this.o.WebSocket);
      if (this.stopped) return;
      ws = new Ctor(endpointUrl(url, this.o.path));
    } catch (err) {
      this.afterClose(1006, (err as Error).message);
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws === ws) this.hooks.open(url);
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      const text = messageText(ev.data);
      let msg: unknown;
      try {
        msg = text === null ? null : JSON.parse(text);
      } catch {
        return; // the registrar only sends JSON objects
      }
      if (msg && typeof msg === "object") this.hooks.message(msg as Record<string, unknown>);
    };
    ws.onerror = () => {
      // A close event always follows; that is where reconnecting is decided.
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.afterClose(ev.code, ev.reason);
    };
  }

  private afterClose(code: number, reason: string): void {
    if (this.stopped) {
      const done = this.onStopped;
      this.onStopped = null;
      done?.();
      return;
    }
    const disposition = this.hooks.closed(code, reason);
    if (disposition === "fatal") {
      this.stopped = true;
      return;
    }
    const delayMs = disposition === "restart" ? this.backoff.afterRestart() : this.backoff.next();
    const next = this.ring.advance();
    this.hooks.retrying(delayMs, next, code, reason);
    this.timer = setTimeout(() => void this.connect(), delayMs);
  }
}

function terminate(ws: WebSocketLike): void {
  const t = (ws as { terminate?: () => void }).terminate;
  if (typeof t === "function") t.call(ws);
  else ws.close(1000, "not answering");
}
