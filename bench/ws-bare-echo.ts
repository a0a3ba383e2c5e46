// The WebSocket ceiling for bench/ws.ts: a bare uWebSockets.js server that speaks just enough of the session protocol
// (contract §4) for the same load workers to drive it: hello on open, identify → ready, and each
// {"op":"heartbeat","seq":N} answered {"op":"heartbeat_ack","seq":N}. Every message is decoded and parsed, and
// every answer stringified, as the registrar must; nothing else (no auth, no actors, no state) is done.
// The socket settings are the registrar's session settings. Prints {"port":N} once listening.
import { randomUUID } from "node:crypto";
import { requireNativeUws, type Uws } from "../src/uws.js";

// The same build the registrar loads (src/uws.ts), so the ceiling and the registrar run on one uWS version.
let uWS: Uws;
try {
  uWS = requireNativeUws();
} catch (err) {
  process.stderr.write(`ws bare echo: ${(err as Error).message}\n`);
  process.exit(1);
}

const decoder = new TextDecoder("utf-8", { fatal: true });
const hello = JSON.stringify({ op: "hello", heartbeat_interval_ms: 30_000, identify_timeout_ms: 10_000, protocols: [1] });
let open = 0;

uWS
  .App()
  .ws<Record<string, never>>("/*", {
    compression: uWS.DISABLED,
    maxPayloadLength: 1024 * 1024,
    maxBackpressure: 512 * 1024,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    open: (ws) => {
      open++;
      ws.send(hello, false, false);
    },
    message: (ws, message, isBinary) => {
      if (isBinary) return void ws.end(4000, "expected a JSON text frame");
      let m: { op?: unknown; seq?: unknown };
      try {
        m = JSON.parse(decoder.decode(message));
      } catch {
        return void ws.end(4000, "message is not JSON");
      }
      if (m.op === "heartbeat") ws.send(JSON.stringify({ op: "heartbeat_ack", seq: m.seq }), false, false);
      else if (m.op === "identify") ws.send(JSON.stringify({ op: "ready", session_id: randomUUID(), status: "online" }), false, false);
      else ws.end(4000, "unknown op");
    },
    close: () => {
      open--;
    },
  })
  .get("/open", (res) => {
    res.end(String(open));
  })
  .listen("127.0.0.1", 0, (s) => {
    if (!s) {
      process.stderr.write("ws bare echo: cannot listen\n");
      process.exit(1);
    }
    process.stdout.write(JSON.stringify({ port: uWS.us_socket_local_port(s) }) + "\n");
  });

process.on("SIGTERM", () => process.exit(0));
process.on("disconnect", () => process.exit(0));
