// A local server for `.well-known/zent` documents (contract §8.1) that tests point WELL_KNOWN_URL at: per-domain
// answers, including hostile ones (hang, drip, oversized, redirect), and a record of what was requested.
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");
export const TEST_TLS = {
  key: readFileSync(path.join(FIXTURES, "tls-test.key")),
  cert: readFileSync(path.join(FIXTURES, "tls-test.crt")),
};

export type DocumentAnswer =
  | { json: unknown }
  | { status: number; body?: string; headers?: Record<string, string> }
  | { redirect: string }
  | { hang: true }
  /** Sends `chunk` every `everyMs`, forever (or until `totalBytes`), with or without a Content-Length. */
  | { drip: { chunk: string; everyMs: number; totalBytes?: number; contentLength?: number } }
  /** Sends `bytes` bytes of filler as fast as the client reads (no Content-Length when `chunked`). */
  | { bytes: number; chunked?: boolean };

export class DocumentServer {
  readonly requests: string[] = [];
  /** Bytes the server managed to write for each answer (to see that a client stopped reading). */
  readonly written: number[] = [];
  connections = 0;
  private active = 0;
  maxActive = 0;
  private readonly answers = new Map<string, DocumentAnswer>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: http.Server | https.Server,
    readonly port: number,
    readonly tls: boolean,
  ) {}

  static async start(opts: { tls?: boolean; host?: string; port?: number } = {}): Promise<DocumentServer> {
    let self: DocumentServer | undefined;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => self!.handle(req, res);
    const server = opts.tls ? https.createServer(TEST_TLS, handler) : http.createServer(handler);
    await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", resolve));
    self = new DocumentServer(server, (server.address() as AddressInfo).port, !!opts.tls);
    server.on("connection", (s: Socket) => {
      self!.connections++;
      self!.sockets.add(s);
      s.on("close", () => self!.sockets.delete(s));
    });
    return self;
  }

  /** WELL_KNOWN_URL for this server: `/{domain}/.well-known/zent` on its port. */
  get urlTemplate(): string {
    return `${this.tls ? "https" : "http"}://127.0.0.1:${this.port}/{domain}/.well-known/zent`;
  }

  set(domain: string, answer: DocumentAnswer): void {
    this.answers.set(domain, answer);
  }

  get(domain: string): DocumentAnswer | undefined {
    return this.answers.get(domain);
  }

  clear(domain: string): void {
    this.answers.delete(domain);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const m = /^\/([^/]+)\/\.well-known\/zent$/.exec(req.url ?? "");
    const domain = m ? decodeURIComponent(m[1]) : "";
    this.requests.push(domain);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    res.on("close", () => this.active--);
    const answer = this.answers.get(domain);
    const index = this.written.push(0) - 1;
    const write = (chunk: string) => {
      this.written[index] += Buffer.byteLength(chunk);
      return res.write(chunk);
    };
    if (!answer) return void res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
    if ("json" in answer) {
      const body = JSON.stringify(answer.json);
      this.written[index] = Buffer.byteLength(body);
      return void res.writeHead(200, { "content-type": "application/json" }).end(body);
    }
    if ("status" in answer) return void res.writeHead(answer.status, answer.headers).end(answer.body ?? "");
    if ("redirect" in answer) return void res.writeHead(302, { location: answer.redirect }).end();
    if ("hang" in answer) return;
    if ("bytes" in answer) {
      res.writeHead(200, answer.chunked ? { "content-type": "application/json" } : { "content-type": "application/json", "content-length": String(answer.bytes) });
      // Written in 16 KiB pieces, honouring backpressure, so a client that stops reading stops the writing.
      let left = answer.bytes;
      const pump = () => {
        while (left > 0) {
          const n = Math.min(left, 16_384);
          left -= n;
          if (!write("x".repeat(n))) return void res.once("drain", pump);
        }
        res.end();
      };
      res.on("close", () => (left = 0));
      return pump();
    }
    const d = answer.drip;
    res.writeHead(200, d.contentLength !== undefined ? { "content-length": String(d.contentLength) } : {});
    let sent = 0;
    const timer = setInterval(() => {
      if (res.destroyed || (d.totalBytes !== undefined && sent >= d.totalBytes)) {
        clearInterval(timer);
        this.timers.delete(timer);
        if (!res.destroyed) res.end();
        return;
      }
      sent += Buffer.byteLength(d.chunk);
      write(d.chunk);
    }, d.everyMs);
    this.timers.add(timer);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
