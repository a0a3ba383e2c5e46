// The WebSocket closing handshake as a strict client sees it (RFC 6455 §7.1.1, §5.5.1): after the registrar's close
// frame and the client's reply, the registrar closes the TCP connection. Regression for issue 13: closes made inside
// ws.cork() off a uWS callback (node shutdown, timers) sent the frame but no FIN, so Node >= 22's global WebSocket
// (and browsers) never reported the 1012 and the SDK never failed over. The `ws` package hid it: it closes TCP itself.
import net from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

type RawSocket = { closeFrame: Promise<{ code: number; reason: string }>; fin: Promise<number> };

/** A hand-rolled client: handshake, then waits for a close frame, answers it (masked) and times the server's FIN. */
function rawWebSocket(port: number, path: string): Promise<RawSocket> {
  return new Promise((resolveOpen, rejectOpen) => {
    const s = net.connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    let upgraded = false;
    let repliedAt = 0;
    let gotClose!: (c: { code: number; reason: string }) => void;
    let gotFin!: (ms: number) => void;
    const closeFrame = new Promise<{ code: number; reason: string }>((r) => (gotClose = r));
    const fin = new Promise<number>((r) => (gotFin = r));
    s.on("connect", () =>
      s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`));
    s.on("error", rejectOpen);
    s.on("end", () => gotFin(repliedAt ? Date.now() - repliedAt : -1));
    s.on("data", (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (!upgraded) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        if (!buf.subarray(0, 12).toString().includes("101")) return rejectOpen(new Error(buf.toString()));
        upgraded = true;
        buf = buf.subarray(end + 4);
        resolveOpen({ closeFrame, fin });
      }
      // Server frames are unmasked; these tests only see short ones (7-bit length).
      while (buf.length >= 2 && buf.length >= 2 + (buf[1] & 0x7f)) {
        const opcode = buf[0] & 0x0f;
        const len = buf[1] & 0x7f;
        const payload = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        if (opcode === 0x8) {
          gotClose({ code: payload.readUInt16BE(0), reason: payload.subarray(2).toString() });
          repliedAt = Date.now();
          s.write(Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8])); // close 1000, zero mask
        }
      }
    });
  });
}

describe("the registrar completes the closing handshake with a FIN", () => {
  const dbUrl = freshDatabaseUrl("wsfin");
  const nodes: InProcessRegistrar[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.stop();
    await dropDatabase(dbUrl);
  });

  it("on node shutdown: 1012 on /v1/feed and /v1/ws/server, then the TCP close within a second of the reply", async () => {
    const node = await startRegistrar({ DATABASE_URL: dbUrl });
    nodes.push(node);
    const port = Number(new URL(node.url).port);
    const feed = await rawWebSocket(port, "/v1/feed");
    const session = await rawWebSocket(port, "/v1/ws/server");
    await node.stop();
    for (const sock of [feed, session]) {
      expect((await sock.closeFrame).code).toBe(1012);
      const finMs = await Promise.race([sock.fin, new Promise<number>((r) => setTimeout(() => r(Infinity), 3000))]);
      expect(finMs).toBeLessThan(1000);
    }
  });

  it("on a timer-driven close (4003, identify timeout): the TCP close follows the reply", async () => {
    const node = await startRegistrar({ DATABASE_URL: dbUrl, WS_IDENTIFY_TIMEOUT_S: "0.3" });
    nodes.push(node);
    const session = await rawWebSocket(Number(new URL(node.url).port), "/v1/ws/server");
    expect((await session.closeFrame).code).toBe(4003);
    const finMs = await Promise.race([session.fin, new Promise<number>((r) => setTimeout(() => r(Infinity), 3000))]);
    expect(finMs).toBeLessThan(1000);
  });
});
