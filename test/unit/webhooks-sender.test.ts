// WebhookSender against a local HTTP server: headers, pinned DNS answers, no redirects, timeout, SSRF at send time.
import { spawn } from "node:child_process";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebhookSender } from "../../src/webhooks/sender.js";
import { verifySignature } from "../../src/webhooks/signature.js";

describe("WebhookSender", () => {
  const seen: { url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        seen.push({ url: req.url!, headers: req.headers, body });
        if (req.url === "/redirect") res.writeHead(302, { location: `http://127.0.0.1:${port}/target` }).end();
        else if (req.url === "/hang") return; // never answers
        else if (req.url === "/big") res.writeHead(200).end("x".repeat(1 << 20));
        else res.writeHead(202).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const attempt = (path: string, host = "127.0.0.1") => ({
    url: `http://${host}:${port}${path}`, secret: "s".repeat(64), body: '{"seq":7}', eventType: "server.updated", deliveryId: 42, seq: 7,
  });
  const sender = (opts: Partial<ConstructorParameters<typeof WebhookSender>[0]> = {}) =>
    new WebhookSender({ allowPrivate: true, timeoutMs: 2000, connectTimeoutMs: 1000, userAgent: "test-agent", ...opts });

  it("POSTs the body with the event, delivery, idempotency and signature headers; 2xx is success", async () => {
    seen.length = 0;
    const r = await sender().send(attempt("/ok"));
    expect(r).toMatchObject({ ok: true, statusCode: 202, error: null });
    expect(seen).toHaveLength(1);
    const h = seen[0].headers;
    expect(h).toMatchObject({ "content-type": "application/json", "x-zent-event": "server.updated", "x-zent-delivery": "42", "idempotency-key": "7", "user-agent": "test-agent" });
    expect(verifySignature(h["x-zent-signature"] as string, seen[0].body, "s".repeat(64))).toBe(true);
  });

  it("connects to the address it checked, not to a second DNS answer", async () => {
    seen.length = 0;
    let lookups = 0;
    const lookup = async () => {
      lookups++;
      return [{ address: "127.0.0.1", family: 4 }];
    };
    // hooks.invalid does not exist: the request only succeeds if the pinned answer is used for the connection.
    const r = await sender({ lookup }).send(attempt("/ok", "hooks.invalid"));
    expect(r.ok).toBe(true);
    expect(lookups).toBe(1);
    expect(seen[0].headers.host).toBe(`hooks.invalid:${port}`);
  });

  it("refuses at send time a target that now resolves to a private address, without connecting", async () => {
    seen.length = 0;
    const lookup = async () => [{ address: "127.0.0.1", family: 4 }];
    const r = await sender({ allowPrivate: false, lookup }).send(attempt("/ok", "rebound.example"));
    expect(r.ok).toBe(false);
    expect(r.statusCode).toBeNull();
    expect(r.error).toMatch(/^refused: rebound\.example resolves to 127\.0\.0\.1/);
    expect(seen).toHaveLength(0);
  });

  it("does not follow redirects: a 302 is a failed attempt", async () => {
    seen.length = 0;
    const r = await sender().send(attempt("/redirect"));
    expect(r).toMatchObject({ ok: false, statusCode: 302, error: "HTTP 302" });
    expect(seen.map((s) => s.url)).toEqual(["/redirect"]);
  });

  it("gives up on a receiver that does not answer within the timeout", async () => {
    const started = Date.now();
    const r = await sender({ timeoutMs: 200 }).send(attempt("/hang"));
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/ETIMEDOUT/);
    expect(r.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("gives up on a host that never completes the connection within the connect time limit (issue 8)", async () => {
    // A listener that never accepts, with a backlog of one already taken: the kernel drops further SYNs, so the
    // next connection hangs in SYN-SENT like one to a host that drops packets. Node accepts on its own, hence python.
    const py = spawn("/usr/bin/python3", ["-c", "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(120)"]);
    try {
      const blackhole = await new Promise<number>((resolve, reject) => {
        py.stdout.once("data", (d) => resolve(Number(String(d).trim())));
        py.once("error", reject);
      });
      const filler = net.connect(blackhole, "127.0.0.1");
      await new Promise((r) => filler.once("connect", r));
      const started = Date.now();
      const r = await sender({ timeoutMs: 5000, connectTimeoutMs: 300 }).send({ ...attempt("/ok"), url: `http://127.0.0.1:${blackhole}/ok` });
      expect(r).toMatchObject({ ok: false, statusCode: null, timedOut: true });
      expect(r.error).toBe("ECONNTIMEDOUT: no connection within 300 ms");
      expect(Date.now() - started).toBeLessThan(2500);
      filler.destroy();
    } finally {
      py.kill();
    }
  });

  it("reads a status from a receiver that answers with a large body without buffering it", async () => {
    const r = await sender().send(attempt("/big"));
    expect(r.statusCode).toBe(200);
  });

  it("reports a refused connection as an error without a status", async () => {
    const r = await sender().send({ ...attempt("/ok"), url: "http://127.0.0.1:9/ok" });
    expect(r).toMatchObject({ ok: false, statusCode: null, timedOut: false });
    expect(r.error).toMatch(/ECONNREFUSED/);
  });
});
