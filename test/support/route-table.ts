// Every route factory of the registrar built with inert dependencies: the route table as the document sees it,
// without MySQL or NATS (handlers are never called). Keep in step with src/http/routes/node-routes.ts; an integration test compares
// the served document's paths with this table's (test/integration/openapi.test.ts).
import { makeServerSchemas } from "../../src/domain/schemas.js";
import { adminRoutes } from "../../src/http/routes/admin.js";
import { healthRoutes } from "../../src/http/routes/health.js";
import { keyRoutes } from "../../src/http/routes/keys.js";
import { openApiRoutes } from "../../src/http/routes/openapi.js";
import { ratingRoutes } from "../../src/http/routes/ratings.js";
import { serverRoutes } from "../../src/http/routes/servers.js";
import { verificationRoutes } from "../../src/http/routes/verification.js";
import { webhookRoutes } from "../../src/http/routes/webhooks.js";
import { probeRoutes } from "../../src/http/routes/probes.js";
import { uptimeRoutes } from "../../src/http/routes/uptime.js";
import type { RouteSpec } from "../../src/http/router.js";

/** Any property, any call: a dependency the route factories hold on to but never use before a request. */
function inert(): any {
  const f: any = new Proxy(function () {}, { get: (_t, key) => (key === "then" ? undefined : f), apply: () => f });
  return f;
}

export function routeTable(): RouteSpec[] {
  const routes: RouteSpec[] = [
    ...serverRoutes({
      directory: inert(), actors: inert(), schemas: makeServerSchemas({ allowInsecureUrls: false }), registrarId: "reg.example.com",
      offlineAfterS: 300, heartbeatIntervalS: 30, onHeartbeat: inert(), registrations: inert(), limits: { register: inert(), list: inert(), write: inert(), heartbeat: inert() }, lastSeq: inert(),
    }),
    ...uptimeRoutes({ directory: inert(), repo: inert(), registrarId: "reg.example.com" }),
    ...probeRoutes(inert()),
    ...ratingRoutes({ directory: inert(), ratings: inert(), service: inert(), limit: inert() }),
    ...verificationRoutes({ proofs: inert(), recoveryLimit: inert(), writeLimit: inert() }),
    ...keyRoutes({ listed: inert(), issuerKeys: inert(), signer: inert(), assertions: inert() }),
    ...adminRoutes({
      registrarId: "reg.example.com", admin: inert(), actors: inert(), listed: inert(), update: inert(), publish: inert(),
      bans: inert(), ratings: inert(), checks: inert(), audit: inert(),
    }),
    ...webhookRoutes({ db: inert(), webhooks: inert(), registrarId: "reg.example.com", allowInsecureUrls: false, allowPrivateWebhooks: false, writeLimit: inert() }),
    ...healthRoutes({ nodeId: "n1", version: "0", startedMs: 0, checkMysql: inert(), natsHealth: inert(), cluster: inert(), registry: inert(), expiry: inert() }),
  ];
  routes.push(...openApiRoutes(() => routes, { version: "0" }));
  return routes;
}
