// A raw WebSocket test client (the `ws` package): collects JSON messages, waits on them and on the close. Every
// frame the registrar sends must match docs/asyncapi.json; one that does not fails the next wait.
import WebSocket from "ws";
import { channelOf, frameProblem, type Channel } from "./asyncapi-check.js";

export type Closed = { code: number; reason: string };

export class TestSocket {
  readonly messages: any[] = [];
  readonly closed: Promise<Closed>;
  /** Frames that do not match docs/asyncapi.json. */
  readonly offDescription: string[] = [];
  private waiters: (() => void)[] = [];

  private constructor(readonly ws: WebSocket, channel: Channel | null = null) {
    ws.on("message", (data, isBinary) => {
      const msg = isBinary ? data : JSON.parse(String(data));
      const problem = channel && !isBinary ? frameProblem(channel, msg) : null;
      if (problem) this.offDescription.push(problem);
      this.messages.push(msg);
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.on("close", (code, reason) => {
      resolve({ code, reason: String(reason) });
      for (const w of this.waiters.splice(0)) w();
    }));
  }

  /** Opens `path` on the registrar at `httpUrl` and waits for the connection. */
  static async open(httpUrl: string, path: string): Promise<TestSocket> {
    const ws = new WebSocket(httpUrl.replace(/^http/, "ws") + path);
    const s = new TestSocket(ws, channelOf(path));
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return s;
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === "string" || Buffer.isBuffer(msg) ? msg : JSON.stringify(msg));
  }

  /** The first message (from `from` on) that matches; waits for it. */
  async next(pred: (m: any) => boolean = () => true, timeoutMs = 5000, from = 0): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.assertDescribed();
      const found = this.messages.slice(from).find(pred);
      if (found !== undefined) return found;
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`closed before a matching message; got ${JSON.stringify(this.messages).slice(0, 500)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.messages).slice(0, 500)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  op(name: string, timeoutMs?: number): Promise<any> {
    return this.next((m) => m.op === name, timeoutMs);
  }

  /** Waits for the close, failing after `timeoutMs`. */
  async closedWithin(timeoutMs = 5000): Promise<Closed> {
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`not closed within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const closed = await Promise.race([this.closed, timeout]);
      this.assertDescribed();
      return closed;
    } finally {
      clearTimeout(t);
    }
  }

  /** Throws when a received frame did not match the AsyncAPI description. */
  assertDescribed(): void {
    if (this.offDescription.length > 0) throw new Error(`AsyncAPI: ${this.offDescription[0]}`);
  }

  close(): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
  }
}

/** Opens a server session and identifies; resolves after `ready`. */
export async function identified(httpUrl: string, domain: string, token: string): Promise<TestSocket> {
  const s = await TestSocket.open(httpUrl, "/v1/ws/server");
  await s.op("hello");
  s.send({ op: "identify", domain, token, protocol: 1 });
  await s.op("ready");
  return s;
}
