// Webhooks of one node, wired: repositories, the enqueuer listening to the sequencer, the delivery worker.
// node.ts creates it, mounts webhookRoutes with `repo`, calls start() once the node is up and stop() before db.end.
import type { RegistryEvent } from "../core/events.js";
import type { Db } from "../store/db.js";
import { DeliveriesRepo, type QueueLimits } from "./deliveries-repo.js";
import { ENQUEUER_DEFAULTS, WebhookEnqueuer } from "./enqueuer.js";
import { SecretBox } from "./secrets.js";
import { WebhookSender } from "./sender.js";
import type { LookupAll } from "./ssrf.js";
import type { Config } from "../config.js";
import { DeliveryWorker, type WorkerHooks } from "./worker.js";
import { WebhooksRepo } from "./webhooks-repo.js";

/** The WEBHOOK_* settings of src/config.ts plus what the node adds. */
export type WebhookSettings = Config["webhooks"] & {
  nodeId: string;
  allowPrivate: boolean;
  userAgent: string;
  lookup?: LookupAll;
};

export type WebhookMetrics = {
  onOutcome(kind: "succeeded" | "retry" | "failed", seconds: number): void;
  /** Pending deliveries dropped by the per-webhook bound (WEBHOOK_MAX_PENDING). */
  onDropped(rows: number): void;
  /** A webhook paused after timeouts in a row. */
  onPaused: NonNullable<WorkerHooks["onPaused"]>;
};

export type Webhooks = {
  repo: WebhooksRepo;
  worker: DeliveryWorker;
  /** Sequencer listener: call with every committed event, in seq order. */
  onEvent(ev: RegistryEvent): void;
  /** Starts delivering and enqueues events up to `lastSeq` that no node enqueued yet. */
  start(lastSeq: number): void;
  stop(): Promise<void>;
};

/** Allowance on top of the request timeout for DNS (bounded at 5 s in ssrf.ts) and recording the outcome. */
const LEASE_MARGIN_MS = 15_000;

export function createWebhooks(db: Db, s: WebhookSettings, onError: (err: unknown) => void, metrics?: WebhookMetrics): Webhooks {
  const box = new SecretBox(s.secretKeyHex);
  const repo = new WebhooksRepo(db, box);
  const limits: QueueLimits = {
    maxInFlightPerWebhook: s.maxInFlightPerWebhook, maxInFlightPerDomain: s.maxInFlightPerDomain, maxPending: s.maxPending,
    pauseAfterTimeouts: s.pauseAfterTimeouts, pauseMs: s.pauseMs,
  };
  const deliveries = new DeliveriesRepo(db, limits);
  const sender = new WebhookSender({
    allowPrivate: s.allowPrivate, timeoutMs: s.timeoutMs, connectTimeoutMs: s.connectTimeoutMs, userAgent: s.userAgent, lookup: s.lookup,
  });
  const worker = new DeliveryWorker(
    deliveries,
    sender,
    box,
    {
      nodeId: s.nodeId,
      concurrency: s.concurrency,
      pollMs: s.pollMs,
      leaseMs: s.timeoutMs + LEASE_MARGIN_MS,
      retentionMs: s.retentionMs,
      baseMs: s.retryBaseMs,
      maxMs: s.retryMaxMs,
      giveUpAfterMs: s.giveUpAfterMs,
    },
    { onOutcome: metrics?.onOutcome, onPaused: metrics?.onPaused, onError },
  );
  const enqueuer = new WebhookEnqueuer(
    deliveries,
    (_created, dropped) => {
      if (dropped > 0) metrics?.onDropped(dropped);
      worker.kick();
    },
    onError,
    ENQUEUER_DEFAULTS,
  );
  let started = false;
  return {
    repo,
    worker,
    onEvent: (ev) => enqueuer.offer(ev),
    start(lastSeq) {
      if (started) return;
      started = true;
      enqueuer.startFrom(lastSeq);
      worker.start();
    },
    async stop() {
      await enqueuer.stop();
      await worker.stop();
    },
  };
}
