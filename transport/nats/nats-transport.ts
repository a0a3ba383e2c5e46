// NATS transport (nats.js v3): subjects for events, gossip and shard mailboxes, KV leases; reconnects forever,
// reports health. The only module (with kv-leases.ts) that knows NATS.
import { connect, NoRespondersError, RequestError, TimeoutError, type NatsConnection, type Subscription as NatsSub } from "@nats-io/transport-node";
import type { LeaseProvider, LeaseStore } from "../leases.js";
import { NoResponderError, RequestTimeoutError, type Handler, type Responder, type Subscription, type Transport } from "../transport.js";
import { KvLeaseStore } from "./kv-leases.js";

export type NatsOptions = { servers: string; name: string; onError?: (err: unknown) => void };

export class NatsTransport implements Transport, LeaseProvider {
  readonly kind = "nats" as const;
  private connected = true;

  private constructor(
    private readonly nc: NatsConnection,
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
      // nats.js v3 reports "no responders" as a RequestError caused by NoRespondersError, a timeout as TimeoutError.
      if (err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders())) {
        throw new NoResponderError(`no responder for ${subject}`, { cause: err });
      }
      if (err instanceof TimeoutError || (err instanceof RequestError && err.cause instanceof TimeoutError)) {
        throw new RequestTimeoutError(`request to ${subject} timed out`, { cause: err });
      }
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

  openLeases(bucket: string, nodeId: string, ttlMs: number): Promise<LeaseStore> {
    return KvLeaseStore.open(this.nc, bucket, nodeId, ttlMs);
  }

  /** Resolves once the server has processed everything published so far (tests use it as a barrier). */
  async flush(): Promise<void> {
    await this.nc.flush();
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
