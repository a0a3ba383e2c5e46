// The registrar's HTTP routes, assembled from the node's features (src/node.ts): the /v1 API, the legacy dialect,
// probes, health, the web directory and the OpenAPI document built from all of them.
import type { connectTransport } from "../../../transport/connect.js";
import type { Config } from "../../config.js";
import type { ServerRecord } from "../../core/record.js";
import type { Directory } from "../../directory/directory.js";
import { makeServerSchemas } from "../../domain/schemas.js";
import type { createEventBus } from "../../events/bus.js";
import type { Metrics } from "../../metrics.js";
import { registrationCounter } from "../../node-metrics.js";
import type { createRegistry } from "../../registry.js";
import type { Store } from "../../store/store.js";
import type { createTrust } from "../../trust/feature.js";
import { webRoutes } from "../../web/routes.js";
import type { createWebhooks } from "../../webhooks/service.js";
import { legacyRoutes } from "../legacy/routes.js";
import type { createLimits } from "../limits.js";
import type { Readiness } from "../readiness.js";
import type { RouteSpec } from "../router.js";
import { adminRoutes } from "./admin.js";
import { healthRoutes } from "./health.js";
import { keyRoutes } from "./keys.js";
import { openApiRoutes } from "./openapi.js";
import { probeRoutes } from "./probes.js";
import { ratingRoutes, ratingSubmitter } from "./ratings.js";
import { serverRoutes } from "./servers.js";
import { unknownUptime, uptimeRoutes } from "./uptime.js";
import { verificationRoutes } from "./verification.js";
import { webhookRoutes } from "./webhooks.js";

export type NodeRouteParts = {
  config: Config;
  version: string;
  startedMs: number;
  metrics: Metrics;
  store: Store;
  net: Awaited<ReturnType<typeof connectTransport>>;
  directory: Directory;
  registry: Awaited<ReturnType<typeof createRegistry>>;
  events: Awaited<ReturnType<typeof createEventBus>>;
  trust: Awaited<ReturnType<typeof createTrust>>;
  webhooks: ReturnType<typeof createWebhooks>;
  limits: ReturnType<typeof createLimits>;
  readiness: Readiness;
  listed: (domain: string) => ServerRecord | undefined;
  update: (rec: ServerRecord, fields: number, mutate: () => void) => void;
};

export function nodeRoutes(p: NodeRouteParts): RouteSpec[] {
  const { config, metrics, store, net, directory, registry, events, trust, webhooks, limits, readiness, listed, update, startedMs } = p;
  const VERSION = p.version;
  const schemas = makeServerSchemas({ allowInsecureUrls: config.allowInsecureUrls });
  const onHeartbeat = heartbeatCounter(metrics);
  const registrations = registrationCounter(metrics);
  const ratingDeps = { directory, ratings: store.ratings, service: trust.ratings, limit: limits.rate };
  const routes = [
    ...probeRoutes(readiness),
    ...serverRoutes({
      directory, actors: registry.api, schemas, registrarId: config.registrarId,
      offlineAfterS: config.offlineAfterMs / 1000, heartbeatIntervalS: config.heartbeatIntervalS, onHeartbeat, limits, registrations,
      lastSeq: () => events.sequencer.last,
    }),
    // The PHP registrar's dialect on the unversioned routes (contract §7), on the same actors and rules; its
    // fromDomain/userId rating is the home-server form of §8.4 (userId up to 128 characters there).
    ...legacyRoutes({ directory, actors: registry.api, schemas, ratings: store.ratings, onHeartbeat, registrations, limits, submitRating: ratingSubmitter(ratingDeps, 128) }),
    ...ratingRoutes(ratingDeps),
    ...uptimeRoutes({ directory, repo: store.uptime, registrarId: config.registrarId }),
    ...verificationRoutes({ proofs: trust.proofs, recoveryLimit: limits.recovery, writeLimit: limits.write }),
    ...keyRoutes({ listed, issuerKeys: trust.issuerKeys, signer: trust.signer, assertions: trust.assertions }),
    // Without ADMIN_TOKEN the admin routes are not mounted at all: every admin path is the plain 404 (§8.5).
    ...(trust.admin.enabled
      ? adminRoutes({
          registrarId: config.registrarId, admin: trust.admin, actors: registry.api, listed, update, publish: events.publish,
          bans: trust.bans, ratings: store.ratings, checks: trust.checks, audit: trust.audit,
        })
      : []),
    ...webhookRoutes({
      db: store.db, listedOrigin: (domain) => directory.get(domain)?.origin, webhooks: webhooks.repo, registrarId: config.registrarId,
      allowInsecureUrls: config.allowInsecureUrls, allowPrivateWebhooks: config.allowPrivateWebhooks, writeLimit: limits.write,
    }),
    ...healthRoutes({
      nodeId: config.nodeId, version: VERSION, startedMs, checkMysql: () => store.db.query("SELECT 1").then(() => true, () => false),
      natsHealth: () => net.transport.health(), cluster: () => registry.cluster?.health() ?? singleNodeHealth(config, directory), registry: metrics.registry,
      expiry: () => registry.local.expiry.state,
    }),
    // The web directory (contract §9.1); without it / and /server/:domain fall through to the 404 route.
    ...(config.webUi
      ? webRoutes({
          directory, ratings: store.ratings, registrarId: config.registrarId, lastSeq: () => events.sequencer.last, limiter: limits.list,
          // §8.3: the keys kept from the last successful fetch of a verified domain; none for the others.
          keys: async (domain) => ((await trust.issuerKeys.stored(domain))?.keys ?? []) as unknown as Record<string, unknown>[],
          // §9.2: the rollup's days (mirrored records have none: every day "no data").
          uptime: async (domain, days) => {
            const nowMs = Date.now();
            const own = directory.get(domain)?.origin === config.registrarId;
            return ((own ? await store.uptime.read(domain, days, nowMs) : null) ?? unknownUptime(days, nowMs)).days;
          },
        })
      : []),
  ];
  // Generated from the table above (docs/api.md): whatever route is mounted is in it.
  routes.push(...openApiRoutes(() => routes, { version: VERSION, prefix: config.pathPrefix }));
  return routes;
}

/** One child, not a label lookup per heartbeat. */
function heartbeatCounter(metrics: Metrics): () => void {
  const child = metrics.heartbeats.labels("http");
  return () => child.inc();
}

function singleNodeHealth(config: Config, directory: Directory) {
  return {
    nodes: 1, shards_owned: config.shards, shards_total: config.shards,
    members: [{ node: config.nodeId, shards: config.shards, servers: directory.size, at: new Date().toISOString() }],
  };
}
