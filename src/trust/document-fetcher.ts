// Fetches a domain's `.well-known/zent` document under the rules of contract §8.1: SSRF-checked and pinned addresses,
// https on 443, no redirects, a 5 s deadline, at most 64 KiB read (streamed), a bounded number of fetches at once.
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { resolveTarget, TargetRefusedError, type LookupAll } from "../webhooks/ssrf.js";
import { documentUrl, urlProblem } from "./document-url.js";
import { FetchSlots } from "./fetch-slots.js";

/** The `reason` of a failed fetch, as `verification_failed` details report it. */
export type FetchFailureReason = "unreachable" | "timeout" | "redirect" | "http_status" | "too_large" | "not_json";

export type FetchOutcome =
  | { ok: true; url: string; json: unknown; bytes: number }
  | { ok: false; url: string; reason: FetchFailureReason; message: string };

export type DocumentFetcherOptions = {
  /** WELL_KNOWN_URL, with `{domain}`. */
  urlTemplate: string;
  allowPrivate: boolean;
  /** http and any port allowed (development templates only; config.ts enforces ALLOW_INSECURE_URLS). */
  allowInsecure: boolean;
  timeoutMs: number;
  maxBytes: number;
  concurrency: number;
  maxQueued: number;
  userAgent: string;
  lookup?: LookupAll;
  /** Extra trusted CA certificates (a private CA, or a test server's self-signed certificate). */
  ca?: string | Buffer;
  /** Server-side detail of a failure (addresses, library messages): for the log, never for the client (review L1). */
  onFailure?: (entry: { domain: string; reason: FetchFailureReason; detail: string }) => void;
};

type Address = { address: string; family: 4 | 6 };

/** Thrown inside a fetch to end it with a reason; turned into a failed outcome at the top. */
class Failure extends Error {
  constructor(
    readonly reason: FetchFailureReason,
    message: string,
    readonly detail: string = message,
  ) {
    super(message);
  }
}

// Fixed texts only: a library's own message can name an internal address ("connect ECONNREFUSED 10.0.0.5:443").
const NO_PUBLIC_ADDRESS = "the host name does not resolve to a public address";

function connectionFailure(err: { code?: string; message?: string }): Failure {
  const code = typeof err.code === "string" && /^[A-Z0-9_]{1,64}$/.test(err.code) ? err.code : "";
  const detail = `${code} ${err.message ?? ""}`.trim();
  if (code === "ECONNREFUSED") return new Failure("unreachable", "the connection was refused", detail);
  if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return new Failure("unreachable", "the host cannot be reached", detail);
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return new Failure("unreachable", NO_PUBLIC_ADDRESS, detail);
  if (/^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_)/.test(code)) {
    return new Failure("unreachable", `the TLS handshake failed (${code})`, detail);
  }
  if (code.startsWith("HPE_")) return new Failure("unreachable", "the answer is not valid HTTP", detail);
  return new Failure("unreachable", "the connection failed before a complete answer", detail);
}

export class DocumentFetcher {
  private readonly slots: FetchSlots;

  constructor(private readonly opts: DocumentFetcherOptions) {
    this.slots = new FetchSlots(opts.concurrency, opts.maxQueued);
  }

  get inFlight(): number {
    return this.slots.inUse;
  }

  /**
   * The parsed JSON of the domain's document, or why there is none. Throws FetchSlotsFullError when the node is
   * already fetching as many documents as it allows and the queue is full.
   */
  fetch(domain: string): Promise<FetchOutcome> {
    return this.slots.run(() => this.fetchNow(domain));
  }

  private async fetchNow(domain: string): Promise<FetchOutcome> {
    const url = documentUrl(this.opts.urlTemplate, domain);
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), this.opts.timeoutMs);
    try {
      const bytes = await this.download(new URL(url), deadline.signal);
      let json: unknown;
      try {
        json = JSON.parse(bytes.toString("utf8"));
      } catch {
        throw new Failure("not_json", "the document is not JSON");
      }
      return { ok: true, url, json, bytes: bytes.length };
    } catch (err) {
      const failure =
        err instanceof Failure ? err
        : deadline.signal.aborted ? this.timeout()
        : connectionFailure(err as { code?: string; message?: string });
      this.opts.onFailure?.({ domain, reason: failure.reason, detail: failure.detail });
      return { ok: false, url, reason: failure.reason, message: failure.message };
    } finally {
      clearTimeout(timer);
    }
  }

  private timeout(): Failure {
    return new Failure("timeout", `no complete answer within ${this.opts.timeoutMs / 1000} s`);
  }

  private async download(url: URL, signal: AbortSignal): Promise<Buffer> {
    const problem = urlProblem(url, { allowInsecure: this.opts.allowInsecure });
    if (problem) throw new Failure("unreachable", problem);
    const addresses = await this.resolve(url.hostname, signal);
    return this.get(url, addresses, signal);
  }

  /** Every address the name resolves to must be public (unless ALLOW_PRIVATE_FETCH); nothing is contacted otherwise. */
  private async resolve(hostname: string, signal: AbortSignal): Promise<Address[]> {
    const aborted = new Promise<never>((_, reject) => {
      const fail = () => reject(this.timeout());
      if (signal.aborted) fail();
      else signal.addEventListener("abort", fail, { once: true });
    });
    aborted.catch(() => undefined);
    try {
      return await Promise.race([resolveTarget(hostname, { allowPrivate: this.opts.allowPrivate, lookup: this.opts.lookup }), aborted]);
    } catch (err) {
      if (err instanceof TargetRefusedError) throw new Failure("unreachable", NO_PUBLIC_ADDRESS, err.message);
      throw err;
    }
  }

  private get(url: URL, addresses: Address[], signal: AbortSignal): Promise<Buffer> {
    // Pinned to the addresses just checked, so a second DNS answer (rebinding) cannot send the request elsewhere.
    const lookup: LookupFunction = (_host, options, cb) => {
      if ((options as { all?: boolean }).all) (cb as unknown as (e: null, a: Address[]) => void)(null, addresses);
      else cb(null, addresses[0].address, addresses[0].family);
    };
    const max = this.opts.maxBytes;
    const headers = { Accept: "application/json", "Accept-Encoding": "identity", "User-Agent": this.opts.userAgent };
    const options = { method: "GET", headers, lookup, agent: false as const, signal, ...(this.opts.ca ? { ca: this.opts.ca } : {}) };
    return new Promise<Buffer>((resolve, reject) => {
      const req = (url.protocol === "https:" ? https : http).request(url, options, (res) => {
        const status = res.statusCode ?? 0;
        const fail = (f: Failure) => {
          res.destroy();
          reject(f);
        };
        if (status >= 300 && status < 400) return fail(new Failure("redirect", `the document URL answered HTTP ${status} (a redirect; redirects are not followed)`));
        if (status !== 200) return fail(new Failure("http_status", `the document URL answered HTTP ${status}`));
        const declared = Number(res.headers["content-length"]);
        if (Number.isFinite(declared) && declared > max) return fail(new Failure("too_large", `the document is larger than ${max} bytes`));
        const chunks: Buffer[] = [];
        let seen = 0;
        res.on("data", (chunk: Buffer) => {
          seen += chunk.length;
          // Stop reading at the limit: the rest is never downloaded, let alone buffered.
          if (seen > max) fail(new Failure("too_large", `the document is larger than ${max} bytes`));
          else chunks.push(chunk);
        });
        res.on("end", () => resolve(Buffer.concat(chunks, seen)));
        res.on("error", () => undefined);
        res.on("close", () => {
          if (!res.complete) reject(signal.aborted ? this.timeout() : new Failure("unreachable", "the connection was closed before the whole document arrived"));
        });
      });
      req.on("error", reject);
      req.end();
    });
  }
}
