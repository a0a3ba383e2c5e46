// Probes for orchestrators (contract §10): /livez answers while the event loop runs, /readyz while the node should
// get traffic. Neither touches MySQL or NATS, so a probe can never queue behind the store.
import type { Readiness } from "../readiness.js";
import type { RouteSpec } from "../router.js";
import { Liveness, Readiness as ReadinessReply } from "../openapi/responses.js";

/** Probe answers must never be cached by a proxy between the orchestrator and the node. */
const NO_STORE: [string, string][] = [["Cache-Control", "no-store"]];

export function probeRoutes(readiness: Readiness): RouteSpec[] {
  return [
    {
      path: "/livez",
      bare: true,
      // Answering at all is the proof: a stalled event loop answers nothing and the probe times out.
      methods: {
        GET: {
          doc: { summary: "Liveness probe", tag: "operations", responses: { 200: Liveness }, errors: [] },
          handler: () => ({ status: 200, body: { status: "alive" }, headers: NO_STORE }),
        },
      },
    },
    {
      path: "/readyz",
      bare: true,
      methods: {
        GET: {
          doc: { summary: "Readiness probe (503 while starting or draining)", tag: "operations", responses: { 200: ReadinessReply, 503: ReadinessReply }, errors: [] },
          handler: () => ({ status: readiness.ready ? 200 : 503, body: { status: readiness.state }, headers: NO_STORE }),
        },
      },
    },
  ];
}
