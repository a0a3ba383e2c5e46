// A lean WebSocket client for the WebSocket benchmarks (bench/ws.ts): a plain TCP socket, the RFC 6455 handshake,
// masked text frames out (with an all-zero masking key, so the payload bytes are copied as they are), unmasked
// frames in, parsed in place without decoding. On 2 shared cores every microsecond the load generator spends is
// taken from the server under test, so the generator does as little as it can: frames queued while one chunk is
// processed go out in one write, and text frames reach the caller as (buffer, start, end) without a copy.
// The same client is used against the bare uWS echo server and against the registrar, so their ratio is fair.
import net from "node:net";

export type TextHandler = (buf: Buffer, start: number, end: number, nowMs: number) => void;

export type RawWsOptions = {
  host: string;
  port: number;
  path: string;
  /** Every text frame; `nowMs` is performance.now() when the chunk carrying it was read. */
  onText: TextHandler;
  /** Once, when the connection ends: the close frame's code, or 1006 when the socket ended without one. */
  onClose?: (code: number) => void;
  timeoutMs?: number;
};

const CRLFCRLF = Buffer.from("\r\n\r\n");
const ZERO_MASK_HEADER_SMALL = 6; // 2 + 4-byte masking key
const ZERO_MASK_HEADER_MEDIUM = 8; // 2 + 2-byte length + 4-byte masking key

/** Encodes one masked client text frame (zero masking key) for an ASCII/Latin-1 payload into `out` at `off`. */
function writeFrame(out: Buffer, off: number, payload: string, len: number): number {
  out[off] = 0x81; // FIN + text
  if (len < 126) {
    out[off + 1] = 0x80 | len;
    out.writeUInt32BE(0, off + 2);
    off += ZERO_MASK_HEADER_SMALL;
  } else {
    out[off + 1] = 0x80 | 126;
    out.writeUInt16BE(len, off + 2);
    out.writeUInt32BE(0, off + 4);
    off += ZERO_MASK_HEADER_MEDIUM;
  }
  out.write(payload, off, len, "latin1");
  return off + len;
}

function frameSize(len: number): number {
  if (len >= 65536) throw new Error("bench frames are small");
  return len + (len < 126 ? ZERO_MASK_HEADER_SMALL : ZERO_MASK_HEADER_MEDIUM);
}

export class RawWs {
  private readonly socket: net.Socket;
  private rest: Buffer | null = null;
  private queued: string[] = [];
  private queuedBytes = 0;
  private inChunk = false;
  private upgraded = false;
  private ended = false;
  closeCode = 0;

  /** Resolves once the handshake completed; rejects on refusal, a non-101 answer or the timeout. */
  readonly opened: Promise<void>;

  /** Starts connecting at once; `onText` may run as soon as the handshake completed (even before `opened` settles). */
  constructor(private readonly o: RawWsOptions) {
    const socket = (this.socket = net.connect({ host: o.host, port: o.port, noDelay: true }));
    this.opened = new Promise<void>((resolve, reject) => {
      let head: Buffer | null = null;
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error("websocket handshake timed out"));
      }, o.timeoutMs ?? 30_000);
      socket.once("connect", () => {
        socket.write(
          `GET ${o.path} HTTP/1.1\r\nHost: ${o.host}:${o.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: d3MtYmVuY2gtcmF3LWtleQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
          "latin1",
        );
      });
      socket.on("data", (chunk: Buffer) => {
        if (this.upgraded) return this.onData(chunk);
        head = head ? Buffer.concat([head, chunk]) : chunk;
        const i = head.indexOf(CRLFCRLF);
        if (i < 0) {
          if (head.length > 8192) socket.destroy(new Error("handshake answer too long"));
          return;
        }
        clearTimeout(timer);
        const status = head.toString("latin1", 0, Math.min(i, 64));
        if (!status.startsWith("HTTP/1.1 101")) {
          socket.destroy();
          reject(new Error(`handshake refused: ${status.split("\r\n")[0]}`));
          return;
        }
        this.upgraded = true;
        resolve();
        const after = head.subarray(i + 4);
        head = null;
        if (after.length > 0) this.onData(after);
      });
      socket.on("error", (err) => {
        if (!this.upgraded) {
          clearTimeout(timer);
          reject(err);
        }
      });
      socket.on("close", () => {
        clearTimeout(timer);
        if (!this.upgraded) reject(new Error("socket closed during the handshake"));
        this.finish(this.closeCode || 1006);
      });
    });
  }

  get open(): boolean {
    return !this.ended;
  }

  /** Queues a text frame; it goes out with the others at the end of the chunk being processed, or at once. */
  send(payload: string): void {
    if (this.ended) return;
    this.queued.push(payload);
    this.queuedBytes += frameSize(payload.length);
    if (!this.inChunk) this.flush();
  }

  flush(): void {
    if (this.queued.length === 0 || this.ended) return;
    const out = Buffer.allocUnsafe(this.queuedBytes);
    let off = 0;
    for (const p of this.queued) off = writeFrame(out, off, p, p.length);
    this.queued = [];
    this.queuedBytes = 0;
    this.socket.write(out);
  }

  /** Sends a close frame and ends the socket (bounded: destroyed after 2 s if the peer does not close). */
  close(code = 1000): void {
    if (this.ended) return;
    const out = Buffer.alloc(8);
    out[0] = 0x88;
    out[1] = 0x80 | 2;
    out.writeUInt16BE(code, 6);
    this.socket.write(out);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private finish(code: number): void {
    if (this.ended) return;
    this.ended = true;
    this.o.onClose?.(code);
  }

  private onData(chunk: Buffer): void {
    const buf = this.rest ? Buffer.concat([this.rest, chunk]) : chunk;
    const now = performance.now();
    let off = 0;
    this.inChunk = true;
    try {
      for (;;) {
        const avail = buf.length - off;
        if (avail < 2) break;
        const b0 = buf[off];
        const b1 = buf[off + 1];
        let len = b1 & 0x7f;
        let h = 2;
        if (len === 126) {
          if (avail < 4) break;
          len = buf.readUInt16BE(off + 2);
          h = 4;
        } else if (len === 127) {
          if (avail < 10) break;
          len = buf.readUInt32BE(off + 2) * 4294967296 + buf.readUInt32BE(off + 6);
          h = 10;
        }
        if (b1 & 0x80) throw new Error("server sent a masked frame");
        if (avail < h + len) break;
        const start = off + h;
        const end = start + len;
        off = end;
        const op = b0 & 0x0f;
        if (op === 1 || op === 2 || op === 0) this.o.onText(buf, start, end, now);
        else if (op === 9) this.pong(buf.subarray(start, end));
        else if (op === 8) {
          this.closeCode = len >= 2 ? buf.readUInt16BE(start) : 1005;
          this.socket.end();
        }
      }
    } finally {
      this.inChunk = false;
    }
    this.rest = off < buf.length ? Buffer.from(buf.subarray(off)) : null;
    this.flush();
  }

  private pong(payload: Buffer): void {
    if (payload.length >= 126) return;
    const out = Buffer.alloc(6 + payload.length);
    out[0] = 0x8a;
    out[1] = 0x80 | payload.length;
    payload.copy(out, 6);
    this.socket.write(out);
  }
}

/** Reads a non-negative decimal integer at buf[i…]; returns -1 when there is no digit there. */
export function readInt(buf: Buffer, i: number, end: number): number {
  let v = 0;
  let any = false;
  for (; i < end; i++) {
    const c = buf[i] - 48;
    if (c < 0 || c > 9) break;
    v = v * 10 + c;
    any = true;
  }
  return any ? v : -1;
}

/** True when buf[start…] begins with the ASCII bytes of `prefix` (a Buffer). */
export function startsWith(buf: Buffer, start: number, end: number, prefix: Buffer): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[start + i] !== prefix[i]) return false;
  return true;
}
