// Typed HTTP calls for every registrar route (contract §3 plus the webhook routes), over the global fetch.
import { RegistrarApiError } from "./errors.js";
import type {
  HeartbeatReply, HeartbeatStats, ListServersQuery, NodeHealth, PageQuery, RateServerBody, Rating, RatingPage,
  RegisterServerBody, RegisterWebhookBody, Registration, ServerHealth, ServerList, ServerRecord, TokenReply,
  UpdateServerBody, Uptime, Webhook, WebhookCreated, WebhookDeliveryPage,
} from "./types.js";
import type { Challenge, DomainKeys, IdentityReply } from "./trust-types.js";

export type RegistrarClientOptions = {
  /** Base URL of a registrar node, e.g. `https://reg.example.com`. */
  baseUrl: string;
  /** Defaults to the global fetch (Node 20, browsers). */
  fetch?: typeof fetch;
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
  /** Extra headers on every request (e.g. X-Request-Id). */
  headers?: Record<string, string>;
};

type Query = Record<string, string | number | boolean | undefined>;
type CallOptions = { body?: unknown; token?: string; query?: Query; accept?: number[]; onHeaders?: (h: Headers) => void };

export class RegistrarClient {
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;

  constructor(opts: RegistrarClientOptions | string) {
    const o = typeof opts === "string" ? { baseUrl: opts } : opts;
    this.baseUrl = o.baseUrl.replace(/\/+$/, "");
    this.fetchImpl = o.fetch ?? globalThis.fetch.bind(globalThis);
    this.timeoutMs = o.timeoutMs ?? 10_000;
    this.headers = o.headers ?? {};
  }

  /** One page of the listing (contract §3, §9.2), with `next_cursor` and the answer's event `seq`. */
  async listServers(query: ListServersQuery = {}): Promise<ServerList> {
    let seq: number | null = null;
    const page = await this.call<Omit<ServerList, "seq">>("GET", "/v1/servers", {
      query,
      onHeaders: (h) => {
        const v = h.get("x-registrar-seq");
        seq = v !== null && /^\d+$/.test(v) ? Number(v) : null;
      },
    });
    return { ...page, next_cursor: page.next_cursor ?? null, seq };
  }

  /**
   * Every page of a query, following `next_cursor` (§9.2): records that do not change during the walk come exactly
   * once, whatever is registered or removed meanwhile. Stops after the last page; `offset` applies to the first only.
   */
  async *listPages(query: ListServersQuery = {}): AsyncGenerator<ServerList, void, undefined> {
    let q: ListServersQuery = { ...query };
    for (;;) {
      const page = await this.listServers(q);
      yield page;
      if (page.next_cursor === null) return;
      q = { ...query, offset: undefined, cursor: page.next_cursor };
    }
  }

  /** Every server a query lists, across all pages: `for await (const s of client.servers({ sort: "uptime" }))`. */
  async *servers(query: ListServersQuery = {}): AsyncGenerator<ServerRecord, void, undefined> {
    for await (const page of this.listPages(query)) yield* page.servers;
  }

  /** §9.2 daily uptime of the last `days` UTC days (1–365, default 30 on the registrar). */
  getUptime(domain: string, days?: number): Promise<Uptime> {
    return this.call("GET", `${serverPath(domain)}/uptime`, { query: { days } });
  }

  registerServer(body: RegisterServerBody): Promise<Registration> {
    return this.call("POST", "/v1/servers", { body });
  }

  async getServer(domain: string): Promise<ServerRecord> {
    return (await this.call<{ server: ServerRecord }>("GET", serverPath(domain))).server;
  }

  async updateServer(domain: string, token: string, changes: UpdateServerBody): Promise<ServerRecord> {
    return (await this.call<{ server: ServerRecord }>("PUT", serverPath(domain), { token, body: changes })).server;
  }

  async deleteServer(domain: string, token: string): Promise<void> {
    await this.call("DELETE", serverPath(domain), { token });
  }

  heartbeat(domain: string, token: string, stats?: HeartbeatStats): Promise<HeartbeatReply> {
    return this.call("POST", `${serverPath(domain)}/heartbeat`, { token, body: stats });
  }

  /** The old token stops working at once; use the returned one from now on (and `ServerSession.setToken`). */
  rotateToken(domain: string, token: string): Promise<TokenReply> {
    return this.call("POST", `${serverPath(domain)}/token`, { token });
  }

  serverHealth(domain: string): Promise<ServerHealth> {
    return this.call("GET", `${serverPath(domain)}/health`);
  }

  /**
   * `created` tells a new rating (201) from a replaced one (200). `homeToken`: the token of `from_domain` when a home
   * server rates for its user (contract §8.4).
   */
  async rateServer(domain: string, body: RateServerBody, homeToken?: string): Promise<{ created: boolean; rating: Rating }> {
    let status = 0;
    const reply = await this.call<{ rating: Rating }>("POST", `${serverPath(domain)}/rate`, { body, token: homeToken }, (s) => (status = s));
    return { created: status === 201, rating: reply.rating };
  }

  /** The challenge to publish in the domain's `.well-known/zent` under `registrars[<registrar>]` (§8.1). */
  requestVerification(domain: string, token: string): Promise<Challenge> {
    return this.call("POST", `${serverPath(domain)}/verification`, { token });
  }

  /** Has the registrar fetch the document now; a 422 `verification_failed` says why not in `details`. */
  checkVerification(domain: string, token: string): Promise<{ verified: true; verified_at: string }> {
    return this.call("POST", `${serverPath(domain)}/verification/check`, { token });
  }

  /** A lost or expired token, or a squatted domain: the recovery challenge to publish (§8.2). */
  requestRecovery(domain: string): Promise<Challenge> {
    return this.call("POST", `${serverPath(domain)}/recovery`);
  }

  /** A new token once the document lists the recovery challenge; every earlier token stops working. */
  completeRecovery(domain: string): Promise<Registration> {
    return this.call("POST", `${serverPath(domain)}/recovery/complete`);
  }

  /** The domain's keys as this registrar serves them; use fetchKeysFromRegistrar to have the signature checked. */
  serverKeys(domain: string): Promise<DomainKeys> {
    return this.call("GET", `${serverPath(domain)}/keys`);
  }

  /** Checks an identity assertion at the registrar (its jti is spent there); 401 `invalid_assertion` otherwise. */
  verifyIdentity(assertion: string): Promise<IdentityReply> {
    return this.call("POST", "/v1/identity/verify", { body: { assertion } });
  }

  listRatings(domain: string, query: PageQuery = {}): Promise<RatingPage> {
    return this.call("GET", `${serverPath(domain)}/ratings`, { query });
  }

  /** Node health; a degraded node answers 503 with the same body, which is returned, not thrown. */
  health(): Promise<NodeHealth> {
    return this.call("GET", "/v1/health", { accept: [503] });
  }

  async metrics(): Promise<string> {
    const res = await this.fetchImpl(`${this.baseUrl}/metrics`, { headers: this.headers, signal: AbortSignal.timeout(this.timeoutMs) });
    if (!res.ok) throw await toError(res);
    return res.text();
  }

  createWebhook(domain: string, token: string, body: RegisterWebhookBody): Promise<WebhookCreated> {
    return this.call("POST", `${serverPath(domain)}/webhooks`, { token, body });
  }

  async listWebhooks(domain: string, token: string): Promise<Webhook[]> {
    return (await this.call<{ webhooks: Webhook[] }>("GET", `${serverPath(domain)}/webhooks`, { token })).webhooks;
  }

  async deleteWebhook(domain: string, token: string, id: string): Promise<void> {
    await this.call("DELETE", `${serverPath(domain)}/webhooks/${encodeURIComponent(id)}`, { token });
  }

  listWebhookDeliveries(domain: string, token: string, id: string, query: PageQuery = {}): Promise<WebhookDeliveryPage> {
    return this.call("GET", `${serverPath(domain)}/webhooks/${encodeURIComponent(id)}/deliveries`, { token, query });
  }

  private async call<T>(method: string, path: string, opts: CallOptions = {}, onStatus?: (status: number) => void): Promise<T> {
    const headers: Record<string, string> = { ...this.headers };
    if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers["content-type"] = "application/json";
    }
    const res = await this.fetchImpl(this.baseUrl + path + queryString(opts.query), {
      method, headers, body, signal: AbortSignal.timeout(this.timeoutMs),
    });
    onStatus?.(res.status);
    opts.onHeaders?.(res.headers);
    if (!res.ok && !opts.accept?.includes(res.status)) throw await toError(res);
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

function serverPath(domain: string): string {
  return `/v1/servers/${encodeURIComponent(domain)}`;
}

function queryString(q: Query | undefined): string {
  if (!q) return "";
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : "";
}

async function toError(res: Response): Promise<RegistrarApiError> {
  const text = await res.text();
  let envelope: { error?: { code?: string; message?: string; details?: { path: string; message: string }[] } } = {};
  try {
    envelope = text ? JSON.parse(text) : {};
  } catch {
    // Not the registrar's envelope (a proxy's error page): keep the status, name it generically.
  }
  const retry = res.headers.get("retry-after");
  return new RegistrarApiError(
    res.status,
    envelope.error?.code ?? `http_${res.status}`,
    envelope.error?.message ?? (text.slice(0, 200) || res.statusText),
    envelope.error?.details ?? [],
    retry !== null && /^\d+$/.test(retry) ? Number(retry) : null,
    res.headers.get("x-request-id"),
  );
}
