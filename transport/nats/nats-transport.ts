// NATS transport (nats.js v3): subjects for events, gossip and shard mailboxes, KV leases; reconnects forever,
// reports health. The only module (with kv-leases.ts) that knows NATS.
import { AuthorizationError, connect, NoRespondersError, RequestError, TimeoutError, type NatsConnection, type Subscription as NatsSub } from "@nats-io/transport-node";
import type { LeaseProvider, LeaseStore } from "../leases.js";
import { NoResponderError, RequestTimeoutError, type Handler, type Responder, type Subscription, type Transport } from "../transport.js";
import { KvLeaseStore } from "./kv-leases.js";
import { linkOptions, splitCredentials, type NatsLink } from "./nats-link.js";

export type NatsOptions = { servers: string; credsFile?: string; tls?: NatsLink["tls"]; name: string; onError?: (err: unknown) => void };

/** NATS refused this node's credentials at connect: a configuration error, named as such (never retried). */
export class NatsAuthError extends Error {}

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
    const link = linkOptions({ url: opts.servers, credsFile: opts.credsFile, tls: opts.tls });
    const nc = await connect({
      ...link,
      name: opts.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 2000,
      maxPingOut: 2,
      timeout: 3000,
      // nats.js otherwise builds two errors (stack traces) per request up front in case it fails; ours wraps a
      // failure in its own error at the caller anyway (issue 14: ~3 % of a forwarding node's CPU).
      noAsyncTraces: true,
    }).catch((err: unknown) => {
      if (err instanceof AuthorizationError || (err instanceof Error && /authoriz|authenticat/i.test(err.message))) {
        throw new NatsAuthError(`NATS refused this node's credentials (${describe(opts)}): ${(err as Error).message}`, { cause: err });
      }
      throw err;
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

/** Kept here for callers that parse NATS_URL (src/import, tests). */
export { splitCredentials };

/** Which credentials were offered, never their values. */
function describe(opts: NatsOptions): string {
  const { auth } = splitCredentials(opts.servers);
  const what = [auth.user ? `user ${auth.user} from NATS_URL` : auth.token ? "token from NATS_URL" : null, opts.credsFile ? "NATS_CREDS" : null].filter(Boolean);
  return what.length ? what.join(", ") : "no credentials: set them in NATS_URL or NATS_CREDS";
}
