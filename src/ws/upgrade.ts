// The uWS upgrade step shared by both endpoints: copy the handshake headers synchronously, refuse while shutting down.
import type { HttpRequest, HttpResponse, us_socket_context_t } from "uWebSockets.js";

/** Upgrades with fresh per-connection state, or answers 503 when the node is shutting down. */
export function upgradeWith<T>(res: HttpResponse, req: HttpRequest, context: us_socket_context_t, state: T | null): void {
  if (state === null) {
    // A keep-alive HTTP connection can still ask for an upgrade after the listen socket closed.
    res.writeStatus("503 Service Unavailable").writeHeader("Content-Type", "application/json").writeHeader("X-Content-Type-Options", "nosniff")
      .writeHeader("Retry-After", "1")
      .end('{"error":{"code":"unavailable","message":"registrar node shutting down; reconnect"}}', true);
    return;
  }
  res.upgrade(
    state,
    req.getHeader("sec-websocket-key"),
    req.getHeader("sec-websocket-protocol"),
    req.getHeader("sec-websocket-extensions"),
    context,
  );
}
