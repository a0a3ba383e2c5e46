// Starts registrar nodes for tests: in this process (fast, for most integration tests) or as a child process
// (for kill -9, SIGTERM and cluster tests). Both listen on a free loopback port.
import { spawn, type ChildProcess } from "node:child_process";
import { Writable } from "node:stream";
import { loadConfig } from "../../src/config.js";
import { startNode, type RegistrarNode } from "../../src/node.js";
import { freePort } from "./nats-server.js";
import { ROOT } from "./paths.js";

export { ROOT };

export type LogLine = Record<string, unknown>;

export type InProcessRegistrar = { url: string; node: RegistrarNode; logs: LogLine[]; stop(): Promise<void> };

/** Starts a node in this process; logs are captured as parsed JSON lines instead of printed. */
export async function startRegistrar(env: Record<string, string>): Promise<InProcessRegistrar> {
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split("\n")) if (line) logs.push(JSON.parse(line));
      cb();
    },
  });
  const config = loadConfig({ PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "info", ...env });
  const node = await startNode(config, { logDestination: sink });
  return { url: `http://127.0.0.1:${node.port}`, node, logs, stop: () => node.stop() };
}

export type ChildRegistrar = {
  url: string;
  port: number;
  child: ChildProcess;
  output: string[];
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
};

/** Spawns `node --import tsx src/main.ts` on a free port and resolves once /v1/health answers. */
export async function spawnRegistrar(env: Record<string, string>, timeoutMs = 30_000): Promise<ChildRegistrar> {
  const port = Number(env.PORT ?? (await freePort()));
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, HOST: "127.0.0.1", ...env, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  let buf = "";
  child.stdout!.on("data", (d) => {
    buf += String(d);
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      output.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  child.stderr!.on("data", (d) => output.push(String(d)));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exitCode !== undefined) throw new Error(`registrar exited with ${exitCode} before listening:\n${output.join("\n")}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`registrar did not start:\n${output.join("\n")}`);
    }
    const up = await fetch(`${url}/v1/health`).then((r) => r.status > 0, () => false);
    if (up) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port,
    child,
    output,
    exited,
    kill: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
