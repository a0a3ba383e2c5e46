// One webhook HTTP attempt: resolve and check the target (SSRF), connect only to the checked addresses, POST the
// signed JSON body, never follow redirects, give up after the connect time limit or the total timeout.
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { resolveTarget, TargetRefusedError, type LookupAll } from "./ssrf.js";
import { signatureHeader } from "./signature.js";

export type Attempt = {
  url: string;
  secret: string;
  body: string;
  eventType: string;
  deliveryId: number;
  seq: number;
};

/**
 * `statusCode` when the receiver answered (any status), `error` when it did not or was refused. `timedOut` when a
 * time limit ended it (connect or answer): what pauses a webhook that keeps holding delivery slots.
 */
export type AttemptResult = { ok: boolean; statusCode: number | null; error: string | null; durationMs: number; timedOut: boolean };

export type SenderOptions = {
  allowPrivate: boolean;
  timeoutMs: number;
  /** Time limit to open the connection (TCP, and TLS for https); a host that never completes it frees the slot early. */
  connectTimeoutMs: number;
  userAgent: string;
  lookup?: LookupAll;
  now?: () => number;
};

const MAX_RESPONSE_BYTES = 64 * 1024;
const TIMEOUT = "ETIMEDOUT";
const CONNECT_TIMEOUT = "ECONNTIMEDOUT";

export class WebhookSender {
  constructor(private readonly opts: SenderOptions) {}

  async send(a: Attempt, signal?: AbortSignal): Promise<AttemptResult> {
    const started = performance.now();
    const done = (statusCode: number | null, error: string | null, timedOut = false): AttemptResult => ({
      ok: statusCode !== null && statusCode >= 200 && statusCode < 300,
      statusCode,
      error,
      durationMs: Math.round(performance.now() - started),
      timedOut,
    });
    let url: URL;
    try {
      url = new URL(a.url);
    } catch {
      return done(null, "invalid URL");
    }
    let addresses: { address: string; family: 4 | 6 }[];
    try {
      // Checked again at every attempt: DNS may have changed since registration.
      addresses = await resolveTarget(url.hostname, { allowPrivate: this.opts.allowPrivate, lookup: this.opts.lookup });
    } catch (err) {
      if (err instanceof TargetRefusedError) return done(null, `refused: ${err.message}`);
      throw err;
    }
    const unixS = Math.floor((this.opts.now?.() ?? Date.now()) / 1000);
    const headers = {
      "Content-Type": "application/json",
      "Content-Length": String(Buffer.byteLength(a.body)),
      "User-Agent": this.opts.userAgent,
      "X-Zent-Event": a.eventType,
      "X-Zent-Delivery": String(a.deliveryId),
      "Idempotency-Key": String(a.seq),
      "X-Zent-Signature": signatureHeader(a.secret, a.body, unixS),
    };
    try {
      const status = await this.post(url, headers, a.body, addresses, signal);
      return done(status, status >= 200 && status < 300 ? null : `HTTP ${status}`);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      return done(null, (e.code ? `${e.code}: ` : "") + (e.message ?? "request failed"), e.code === TIMEOUT || e.code === CONNECT_TIMEOUT);
    }
  }

  private post(url: URL, headers: Record<string, string>, body: string, addresses: { address: string; family: 4 | 6 }[], signal?: AbortSignal): Promise<number> {
    // Pin the connection to the addresses just checked, so a second DNS answer (rebinding) cannot redirect it.
    const lookup: LookupFunction = (_host, options, cb) => {
      if ((options as { all?: boolean }).all) (cb as unknown as (e: null, a: typeof addresses) => void)(null, addresses);
      else cb(null, addresses[0].address, addresses[0].family);
    };
    const mod = url.protocol === "https:" ? https : http;
    return new Promise<number>((resolve, reject) => {
      const req = mod.request(url, { method: "POST", headers, lookup, agent: false, signal });
      const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer within ${this.opts.timeoutMs} ms`), { code: TIMEOUT })), this.opts.timeoutMs);
      req.on("socket", (socket) => {
        // agent: false gives every attempt a fresh socket, so this is the connection of this attempt.
        const connectTimer = setTimeout(
          () => req.destroy(Object.assign(new Error(`no connection within ${this.opts.connectTimeoutMs} ms`), { code: CONNECT_TIMEOUT })),
          this.opts.connectTimeoutMs,
        );
        socket.once(url.protocol === "https:" ? "secureConnect" : "connect", () => clearTimeout(connectTimer));
        socket.once("close", () => clearTimeout(connectTimer));
      });
      req.on("response", (res) => {
        // Only the status matters; drain a bounded amount so the socket closes cleanly, and never follow a 3xx.
        let seen = 0;
        res.on("data", (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > MAX_RESPONSE_BYTES) res.destroy();
        });
        res.on("close", () => {
          clearTimeout(timer);
          resolve(res.statusCode ?? 0);
        });
        res.on("error", () => undefined);
      });
      req.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      req.end(body);
    });
  }
}
