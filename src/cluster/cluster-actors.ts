// The edge's view of the actors in cluster mode: a message for a domain runs locally when this node owns its
// shard, else goes to the owner's mailbox subject by request/reply; while a shard has no owner the message is
// kept and retried until the new owner takes it (so a heartbeat is acknowledged only once its owner has it).
import type { Actor } from "../../actors/ports.js";
import type { ServerFields, Stats } from "../../actors/server-record.js";
import type { ActorApi, ServerActors } from "../../actors/server-actors.js";
import { shardOf } from "../../actors/shards.js";
import { NoResponderError, RequestTimeoutError, type Subscription, type Transport } from "../../transport/transport.js";
import { RegistrarError, ShardMovedError, UnavailableError, type ErrorDetail } from "../errors.js";

type Op = "register" | "heartbeat" | "update" | "remove" | "rotateToken";
type Envelope = { op: Op; domain: string; args: unknown[] };
type WireError = { code: string; status: number; message: string; details?: ErrorDetail[]; headers?: [string, string][] };

/** A contract error that happened at the owner, re-raised at the edge unchanged. */
class RemoteError extends RegistrarError {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type ClusterActorSettings = { shards: number; requestTimeoutMs: number; retryBudgetMs: number };

export class ClusterActors implements ActorApi {
  private readonly serving = new Map<number, Subscription>();
  readonly stats = { remote: 0, retries: 0 };

  constructor(
    private readonly local: ServerActors,
    private readonly owns: (shard: number) => boolean,
    private readonly transport: Transport,
    private readonly subject: (shard: number) => string,
    private readonly s: ClusterActorSettings,
    /** When the transport is down, messages run here against MySQL directly (degraded mode). */
    private readonly degraded: ActorApi,
    private readonly onMailboxLatency: (seconds: number) => void,
  ) {}

  register(domain: string, fields: ServerFields, by: Actor) {
    return this.route(domain, "register", [fields, by], () => this.local.register(domain, fields, by), () => this.degraded.register(domain, fields, by));
  }
  heartbeat(domain: string, token: string | null, stats: Stats, sessionTokenIssuedMs?: number) {
    return this.route(
      domain, "heartbeat", [token, stats, sessionTokenIssuedMs],
      () => this.local.heartbeat(domain, token, stats, sessionTokenIssuedMs),
      () => this.degraded.heartbeat(domain, token, stats, sessionTokenIssuedMs),
    );
  }
  update(domain: string, token: string | null, changed: Partial<ServerFields>, by: Actor) {
    return this.route(domain, "update", [token, changed, by], () => this.local.update(domain, token, changed, by), () => this.degraded.update(domain, token, changed, by));
  }
  remove(domain: string, token: string | null, by: Actor) {
    return this.route(domain, "remove", [token, by], () => this.local.remove(domain, token, by), () => this.degraded.remove(domain, token, by));
  }
  rotateToken(domain: string, token: string | null, by: Actor) {
    return this.route(domain, "rotateToken", [token, by], () => this.local.rotateToken(domain, token, by), () => this.degraded.rotateToken(domain, token, by));
  }

  /** Starts answering the mailbox subject of a shard this node now owns. */
  serve(shard: number): void {
    if (this.serving.has(shard)) return;
    this.serving.set(
      shard,
      this.transport.serve(this.subject(shard), async (data) => Buffer.from(JSON.stringify(await this.handle(data)))),
    );
  }

  unserve(shard: number): void {
    this.serving.get(shard)?.unsubscribe();
    this.serving.delete(shard);
  }

  private async handle(data: Uint8Array): Promise<{ ok: unknown } | { error: WireError }> {
    try {
      const env = JSON.parse(Buffer.from(data).toString("utf8")) as Envelope;
      const fn = (this.local[env.op] as (...a: unknown[]) => Promise<unknown>).bind(this.local);
      return { ok: (await fn(env.domain, ...env.args)) ?? null };
    } catch (err) {
      if (err instanceof ShardMovedError) return { error: { code: "shard_moved", status: 503, message: err.message } };
      if (err instanceof RegistrarError) return { error: { code: err.code, status: err.status, message: err.message, details: err.details, headers: err.headers } };
      throw err;
    }
  }

  private async route<T>(domain: string, op: Op, args: unknown[], local: () => Promise<T>, degraded: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.s.retryBudgetMs;
    const payload = Buffer.from(JSON.stringify({ op, domain, args } satisfies Envelope));
    for (let attempt = 0; ; attempt++) {
      const shard = shardOf(domain, this.s.shards);
      try {
        // Without NATS nobody hears anybody: every node serves every server from MySQL (degraded mode).
        if (this.transport.health() === "down") return await degraded();
        if (this.owns(shard)) return await local();
        const started = performance.now();
        this.stats.remote++;
        const reply = JSON.parse(Buffer.from(await this.transport.request(this.subject(shard), payload, this.s.requestTimeoutMs)).toString("utf8"));
        this.onMailboxLatency((performance.now() - started) / 1000);
        if (reply.error) {
          const e = reply.error as WireError;
          if (e.code === "shard_moved") throw new ShardMovedError(e.message);
          const err = new RemoteError(e.code, e.status, e.message);
          err.details = e.details;
          err.headers = e.headers;
          throw err;
        }
        return reply.ok as T;
      } catch (err) {
        const retryable = err instanceof ShardMovedError || err instanceof NoResponderError || err instanceof RequestTimeoutError;
        if (!retryable) throw err;
        if (Date.now() >= deadline) throw new UnavailableError("no registrar node owns this server right now; retry shortly", { cause: err });
        this.stats.retries++;
        await new Promise((r) => setTimeout(r, Math.min(25 * 2 ** Math.min(attempt, 3), 200)));
      }
    }
  }
}
