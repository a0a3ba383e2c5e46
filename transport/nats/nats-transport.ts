// NATS transport (nats.js v3): subjects for events, gossip and shard mailboxes; reconnects forever, reports health.
import { connect, type NatsConnection, type Subscription as NatsSub } from "@nats-io/transport-node";
import { NoResponderError, RequestTimeoutError, type Handler, type Responder, type Subscription, type Transport } from "../transport.js";

export type NatsOptions = { servers: string; name: string; onError?: (err: unknown) => void };

export class NatsTransport implements Transport {
  readonly kind = "nats" as const;
  private connected = true;

  private constructor(
    readonly nc: NatsConnection,
    private readonly onError: (err: unknown) => void,
  ) {
    void this.watchStatus();
  }

  static async connect(opts: NatsOptions): Promise<NatsTransport> {
    const { servers, auth } = splitCredentials(opts.servers);
    const nc = await connect({
      ...auth,
      servers,
      name: opts.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 2000,
      maxPingOut: 2,
      timeout: 3000,
    });
    return new NatsTransport(nc, opts.onError ?? (() => {}));
  }

  publish(subject: string, data: Uint8Array): void {
    try {
      this.nc.publish(subject, data);
    } catch (err) {
      // Closed or draining connection: a publish that cannot happen is reported, not thrown into callers.
      this.onError(err);
    }
  }

  subscribe(subject: string, handler: Handler): Subscription {
    const sub = this.nc.subscribe(subject);
    void this.consume(sub, (m) => handler(m.data, m.subject));
    return { unsubscribe: () => sub.unsubscribe() };
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    try {
      const m = await this.nc.request(subject, data, { timeout: timeoutMs });
      return m.data;
    } catch (err) {
      const e = err as { name?: string; message?: string; code?: string };
      if (/no responders/i.test(`${e.name} ${e.message} ${e.code}`)) throw new NoResponderError(`no responder for ${subject}`, { cause: err });
      if (/timeout/i.test(`${e.name} ${e.message} ${e.code}`)) throw new RequestTimeoutError(`request to ${subject} timed out`, { cause: err });
      throw err;
    }
  }

  serve(subject: string, responder: Responder): Subscription {
    const sub = this.nc.subscribe(subject);
    void this.consume(sub, (m) => {
      responder(m.data, m.subject).then(
        (reply) => m.respond(reply),
        (err) => {
          this.onError(err);
          m.respond(new TextEncoder().encode(JSON.stringify({ error: { code: "internal", message: "responder failed" } })));
        },
      );
    });
    return { unsubscribe: () => sub.unsubscribe() };
  }

  health(): "ok" | "down" {
    return this.connected && !this.nc.isClosed() ? "ok" : "down";
  }

  async close(): Promise<void> {
    if (this.nc.isClosed()) return;
    await this.nc.drain().catch(() => this.nc.close());
  }

  private async consume(sub: NatsSub, fn: (m: { data: Uint8Array; subject: string; respond(d: Uint8Array): boolean }) => void): Promise<void> {
    for await (const m of sub) {
      try {
        fn(m);
      } catch (err) {
        this.onError(err);
      }
    }
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === "disconnect" || s.type === "staleConnection") this.connected = false;
      else if (s.type === "reconnect") this.connected = true;
    }
  }
}

/**
 * nats.js v3 does not read credentials from server URLs: take `nats://user:pass@host` (or `nats://token@host`) apart
 * into connection options, so NATS_URL can carry them.
 */
export function splitCredentials(urls: string): { servers: string[]; auth: { user?: string; pass?: string; token?: string } } {
  const auth: { user?: string; pass?: string; token?: string } = {};
  const servers = urls.split(",").map((raw) => {
    const text = raw.trim();
    const m = /^([a-z]+:\/\/)([^@/]*)@(.*)$/i.exec(text);
    if (!m) return text;
    const [user, pass] = m[2].split(":").map(decodeURIComponent);
    if (pass !== undefined) Object.assign(auth, { user, pass });
    else auth.token = user;
    return m[1] + m[3];
  });
  return { servers, auth };
}
