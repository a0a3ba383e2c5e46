// The public edge of a node: WebSocket endpoints and the HTTP route groups on one uWS app, listening. Its stop
// drains (/readyz 503 for SHUTDOWN_DRAIN_MS, still serving), closes the listen socket, ends sessions with 1012 (contract §4) and waits for requests in flight.
import type uWSModule from "uWebSockets.js";
import type { HeartbeatPort } from "../ws/server-sessions.js";
import { mountWebSockets, type WebSocketDeps } from "../ws/index.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics.js";
import { resolveClientIp } from "../security/client-ip.js";
import type { Readiness } from "./readiness.js";
import { clientIpOf } from "./context.js";
import { createResponder } from "./respond.js";
import { mountRoutes, type RouteSpec } from "./router.js";

/** The in-flight requests of a stopping node get this much less than SHUTDOWN_TIMEOUT to finish. */
const SHUTDOWN_MARGIN_MS = 2000;
// Without trusted proxies a plain IPv4 peer is already canonical: skip parsing it on every request.
const IPV4_TEXT = /^\d{1,3}(?:\.\d{1,3}){3}$/;

export type EdgeDeps = {
  uWS: typeof uWSModule;
  config: Config;
  log: Logger;
  metrics: Metrics;
  /** Route groups, mounted after the WebSocket endpoints (the router ends with a catch-all 404). */
  routes: RouteSpec[];
  webSockets: Omit<WebSocketDeps, "config" | "log" | "metrics" | "actors" | "clientIp"> & { actors: HeartbeatPort };
  /** Turned ready once listening, draining first thing in stop() (contract §10 /readyz). */
  readiness: Readiness;
};

export type Edge = { port: number; stop(): Promise<void> };

export async function startEdge(d: EdgeDeps): Promise<Edge> {
  const { uWS, config, log } = d;
  const trusted = config.trustedProxies;
  const resolveIp = (peer: string, xff: string | undefined) =>
    trusted.size === 0 && IPV4_TEXT.test(peer) ? peer : resolveClientIp(peer, xff, trusted);
  const respond = createResponder(log, d.metrics, config.corsOrigins);
  const app = uWS.App();
  const clientIp = (res: uWSModule.HttpResponse, req: uWSModule.HttpRequest) => clientIpOf(res, req, resolveIp);
  const webSockets = mountWebSockets(app, { ...d.webSockets, config, log, metrics: d.metrics, clientIp });
  mountRoutes(app, d.routes, { respond, resolveIp, maxBodyBytes: config.maxBodyBytes, prefix: config.pathPrefix });
  const listenSocket = await new Promise<uWSModule.us_listen_socket>((resolve, reject) =>
    app.listen(config.host, config.port, (s) => (s ? resolve(s) : reject(new Error(`cannot listen on ${config.host}:${config.port}`)))),
  );
  const port = uWS.us_socket_local_port(listenSocket);
  log.info({ port, registrar: config.registrarId, mode: config.mode }, "registrar listening");
  d.readiness.listening();
  return {
    port,
    async stop() {
      // Contract §10: /readyz turns 503 first; everything else keeps serving while load balancers notice.
      d.readiness.drain();
      if (config.shutdownDrainMs > 0) {
        log.info({ drain_ms: config.shutdownDrainMs }, "draining: /readyz answers 503, still serving");
        await new Promise((r) => setTimeout(r, config.shutdownDrainMs));
      }
      uWS.us_listen_socket_close(listenSocket);
      await webSockets.shutdown();
      const deadline = Date.now() + config.shutdownTimeoutMs - SHUTDOWN_MARGIN_MS;
      while (respond.active > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    },
  };
}
