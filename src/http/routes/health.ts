// Operations routes: node health (MySQL and NATS checks) and Prometheus metrics.
import type { Registry } from "prom-client";
import type { RouteSpec } from "../router.js";
import { NodeHealth } from "../openapi/responses.js";

export type HealthDeps = {
  nodeId: string;
  version: string;
  startedMs: number;
  checkMysql: () => Promise<boolean>;
  natsHealth: () => "ok" | "down" | "disabled";
  cluster: () => Record<string, unknown>;
  /** "held" while this node holds offline transitions after a mass expiry (contract §10), else "normal". */
  expiry: () => "normal" | "held";
  registry: Registry;
};

/**
 * At most one check at a time: requests that arrive while it runs share its answer (review M4: one SELECT 1 per
 * request let anonymous health requests fill the pool). Nothing is kept after it settles, so an outage shows at once.
 */
function sharedCheck(check: () => Promise<boolean>): () => Promise<boolean> {
  let running: Promise<boolean> | null = null;
  return () => (running ??= check().finally(() => (running = null)));
}

export function healthRoutes(d: HealthDeps): RouteSpec[] {
  const checkMysql = sharedCheck(d.checkMysql);
  return [
    {
      path: "/health",
      methods: {
        GET: {
          doc: { summary: "This node's health (503 while MySQL is unreachable)", tag: "operations", responses: { 200: NodeHealth, 503: NodeHealth }, errors: [] },
          handler: async () => {
            const mysql = (await checkMysql()) ? "ok" : "down";
            const nats = d.natsHealth();
            const ok = mysql === "ok" && nats !== "down";
            return {
              // Only MySQL makes the node unable to serve writes; NATS down is degraded but still 200 (contract §3).
              status: mysql === "ok" ? 200 : 503,
              body: {
                status: ok ? "ok" : "degraded",
                node: d.nodeId,
                version: d.version,
                uptime_s: Math.floor((Date.now() - d.startedMs) / 1000),
                checks: { mysql, nats },
                expiry: d.expiry(),
                cluster: d.cluster(),
              },
            };
          },
        },
      },
    },
    {
      path: "/metrics",
      bare: true,
      methods: {
        GET: {
          doc: { summary: "Prometheus metrics", tag: "operations", responses: { 200: { mediaType: "text/plain", description: "Prometheus text exposition." } }, errors: [] },
          handler: async () => ({
            status: 200,
            raw: await d.registry.metrics(),
            headers: [["Content-Type", d.registry.contentType]],
          }),
        },
      },
    },
  ];
}
