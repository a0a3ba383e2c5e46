// The ceiling: a bare uWebSockets.js server answering a constant JSON body: the registrar's own listing response
// (BARE_PLAIN_FILE; BARE_Q_FILE when the query has q=), read once and sent as pre-encoded bytes, so it is the same
// size and content. Without files it pads a JSON object to BARE_PLAIN_BYTES / BARE_Q_BYTES. Any POST is answered
// like a heartbeat (body read, constant reply). Prints {"port":N}.
import { readFileSync } from "node:fs";
import { requireNativeUws, type Uws } from "../src/uws.js";

function body(file: string | undefined, bytes: string | undefined): Buffer {
  if (file) return readFileSync(file);
  const head = '{"servers":[],"pad":"';
  const tail = '"}';
  return Buffer.from(head + "x".repeat(Math.max(0, Number(bytes ?? 20_000) - head.length - tail.length)) + tail);
}

const plain = body(process.env.BARE_PLAIN_FILE, process.env.BARE_PLAIN_BYTES);
const withQ = process.env.BARE_Q_FILE || process.env.BARE_Q_BYTES ? body(process.env.BARE_Q_FILE, process.env.BARE_Q_BYTES) : plain;

// The same build the registrar loads (src/uws.ts), so the ceiling and the registrar run on one uWS version.
let uWS: Uws;
try {
  uWS = requireNativeUws();
} catch (err) {
  process.stderr.write(`bare server: ${(err as Error).message}\n`);
  process.exit(1);
}
const app = uWS.App();
app.get("/*", (res, req) => {
  const q = req.getQuery() ?? "";
  res.writeHeader("Content-Type", "application/json");
  res.end(/(^|&)q=/.test(q) ? withQ : plain);
});
// Heartbeat ceiling: read the whole body like the registrar must, then answer a heartbeat reply of the same shape.
const HEARTBEAT_REPLY = Buffer.from('{"status":"online","last_seen":"2026-01-01T00:00:00.000Z","next_heartbeat_s":30,"token_expires_at":"2026-04-01T00:00:00.000Z"}');
app.post("/*", (res) => {
  let aborted = false;
  res.onAborted(() => (aborted = true));
  res.onData((_chunk, isLast) => {
    if (!isLast || aborted) return;
    res.cork(() => {
      res.writeHeader("Content-Type", "application/json");
      res.end(HEARTBEAT_REPLY);
    });
  });
});
app.listen("127.0.0.1", 0, (s) => {
  if (!s) {
    process.stderr.write("bare server: cannot listen\n");
    process.exit(1);
  }
  process.stdout.write(JSON.stringify({ port: uWS.us_socket_local_port(s), plain: plain.length, q: withQ.length }) + "\n");
});
process.on("SIGTERM", () => process.exit(0));
