// Test projects by layer: `unit` needs no service at all (no MariaDB, NATS or Docker: no global setup);
// `integration`, `cluster`, `federation` and `browser` (headless Chromium) find MariaDB and NATS through
// test/support/global-setup.ts.
import { defineConfig } from "vitest/config";

const services = ["test/support/global-setup.ts"];

export default defineConfig({
  // Vite's default server conditions plus `zent-source`, under which the SDK's `#websocket-fallback` subpath import
  // resolves to its .ts source (client/package.json "imports"): tests run the SDK without building client/dist.
  ssr: { resolve: { conditions: ["zent-source", "module", "node", "development|production"] } },
  test: {
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ["default"],
    // Every answer test/support/http.ts sees is checked against the registrar's OpenAPI document (docs/api.md).
    setupFiles: ["test/support/openapi-setup.ts"],
    projects: [
      { extends: true, test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      { extends: true, test: { name: "integration", include: ["test/integration/**/*.test.ts"], globalSetup: services } },
      { extends: true, test: { name: "cluster", include: ["test/cluster/**/*.test.ts"], globalSetup: services } },
      { extends: true, test: { name: "federation", include: ["test/federation/**/*.test.ts"], globalSetup: services } },
      { extends: true, test: { name: "browser", include: ["test/browser/**/*.test.ts"], globalSetup: services } },
    ],
  },
});
