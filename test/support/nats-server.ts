// Spawns private nats-server processes (JetStream on, loopback only, free ports) for tests that need their own
// NATS: a single server that can be stopped and restarted, or a 3-node cluster whose members can be killed.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const NATS_BIN = process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => (s.destroy(), resolve(true)));
      s.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nats-server did not listen on ${port}`);
}

export class NatsServer {
  child: ChildProcess | null = null;
  readonly url: string;

  constructor(
    readonly port: number,
    private readonly args: string[],
    readonly dir: string,
    /** Extra environment of nats-server (a config may read a password from it). */
    private readonly env: Record<string, string> = {},
  ) {
    this.url = `nats://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(NATS_BIN, this.args, { stdio: "ignore", env: { ...process.env, ...this.env } });
    await waitForPort(this.port);
  }

  /** kill -9, as a crash would. */
  async kill(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await exited;
    this.child = null;
  }

  async cleanup(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One JetStream server on a free loopback port; restartable on the same port and store. */
export async function startNats(): Promise<NatsServer> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), "zt-nats-"));
  const s = new NatsServer(port, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir], dir);
  await s.start();
  return s;
}

/** A 3-node NATS cluster with JetStream; returns the servers (each restartable). */
export async function startNatsCluster(size = 3): Promise<NatsServer[]> {
  const clientPorts = await Promise.all(Array.from({ length: size }, freePort));
  const routePorts = await Promise.all(Array.from({ length: size }, freePort));
  const servers: NatsServer[] = [];
  for (let i = 0; i < size; i++) {
    const dir = mkdtempSync(path.join(os.tmpdir(), `zt-natsc${i}-`));
    const conf = path.join(dir, "nats.conf");
    writeFileSync(
      conf,
      [
        `server_name: n${i}`,
        `listen: 127.0.0.1:${clientPorts[i]}`,
        `jetstream { store_dir: "${dir}/js" }`,
        `cluster {`,
        `  name: ztc`,
        `  listen: 127.0.0.1:${routePorts[i]}`,
        `  routes: [${routePorts.map((p) => `nats-route://127.0.0.1:${p}`).join(", ")}]`,
        `}`,
      ].join("\n"),
    );
    servers.push(new NatsServer(clientPorts[i], ["-c", conf], dir));
  }
  await Promise.all(servers.map((s) => s.start()));
  return servers;
}
