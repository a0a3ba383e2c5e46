// Process entry: parse config (exit 1 with one line on error), start the node, stop gracefully on SIGTERM/SIGINT.
import { ConfigError, loadConfig } from "./config.js";
import { startNode } from "./node.js";

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`config error: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}

try {
  const node = await startNode(config);
  const shutdown = (signal: string) => {
    node.log.info({ signal }, "signal received");
    // Not unref'd: it also keeps the event loop alive until stop() settles. Unref'd, a shutdown waiting only on
    // unref'd retry timers (MySQL down) let the loop drain and the process exit 0 without flushing (issue 2).
    // The drain (SHUTDOWN_DRAIN_MS, still serving) comes before the stop proper, which keeps its whole budget.
    const budgetMs = config.shutdownDrainMs + config.shutdownTimeoutMs;
    setTimeout(() => {
      node.log.error({ timeout_ms: budgetMs }, "shutdown timed out; exiting without finishing it");
      node.log.flush?.();
      process.exit(1);
    }, budgetMs);
    node.stop().then(
      () => process.exit(0),
      (err) => {
        node.log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
} catch (err) {
  process.stderr.write(`start-up failed: ${(err as Error).message}\n`);
  process.exit(1);
}
