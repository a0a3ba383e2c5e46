// Finds MySQL and NATS for the tests: the local services (CI, dev machines), else containers via testcontainers.
import net from "node:net";
import type { TestProject } from "vitest/node";

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 1000 }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
    s.on("timeout", () => {
      s.destroy();
      resolve(false);
    });
  });
}

const stops: (() => Promise<unknown>)[] = [];

export default async function setup(project: TestProject) {
  let mysqlUrl = process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306";
  let natsUrl = process.env.TEST_NATS_URL ?? "nats://127.0.0.1:4222";
  const mu = new URL(mysqlUrl);
  if (!(await reachable(mu.hostname, Number(mu.port || 3306)))) {
    // Laptop fallback: no local MariaDB, but maybe Docker.
    const { GenericContainer, Wait } = await import("testcontainers");
    const c = await new GenericContainer("mariadb:10.11")
      .withEnvironment({ MARIADB_ALLOW_EMPTY_ROOT_PASSWORD: "1", MARIADB_ROOT_HOST: "%" })
      .withExposedPorts(3306)
      .withWaitStrategy(Wait.forLogMessage(/ready for connections/, 2))
      .start();
    stops.push(() => c.stop());
    mysqlUrl = `mysql://root@${c.getHost()}:${c.getMappedPort(3306)}`;
  }
  const nu = new URL(natsUrl);
  if (!(await reachable(nu.hostname, Number(nu.port || 4222)))) {
    try {
      const { GenericContainer } = await import("testcontainers");
      const c = await new GenericContainer("nats:2.10").withCommand(["-js"]).withExposedPorts(4222).start();
      stops.push(() => c.stop());
      natsUrl = `nats://${c.getHost()}:${c.getMappedPort(4222)}`;
    } catch {
      // NATS-only tests will fail with a clear connection error; the single-node suite does not need it.
    }
  }
  project.provide("mysqlUrl", mysqlUrl);
  project.provide("natsUrl", natsUrl);
  return async () => {
    for (const stop of stops) await stop();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    mysqlUrl: string;
    natsUrl: string;
  }
}
