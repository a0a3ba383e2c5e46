// Contract §10, security review H5/L8: the shipped single-cluster NATS config (deploy/nats/registrar.conf) refuses a
// client without credentials, confines the registrar's user to its own cluster's subjects, and runs a two-node
// registrar cluster (shard leases included) with them; wrong or missing credentials fail the start with a clear
// line. The same config with TLS on: a registrar that trusts the CA (NATS_TLS_CA) connects.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect as natsConnect } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { waitForShards } from "../support/cluster.js";
import { issueServerCert, makeCertificates } from "../support/mariadb-tls.js";
import { makeNatsJwt } from "../support/nats-jwt.js";
import { freePort, NatsServer } from "../support/nats-server.js";
import { ROOT, spawnRegistrar, type ChildRegistrar } from "../support/registrar.js";

const PASSWORD = "test-registrar-password";
const CONF = path.join(ROOT, "deploy/nats/registrar.conf");

/** nats-server from the shipped config, on test ports and a temporary store; `tls` uncomments the TLS block. */
async function fromShippedConfig(tls?: { cert: string; key: string; ca: string }): Promise<NatsServer> {
  const [port, http] = await Promise.all([freePort(), freePort()]);
  const dir = mkdtempSync(path.join(os.tmpdir(), "zt-natscred-"));
  let conf = readFileSync(CONF, "utf8")
    .replace("0.0.0.0:4222", `127.0.0.1:${port}`)
    .replace("127.0.0.1:8222", `127.0.0.1:${http}`)
    .replace("/data/jetstream", path.join(dir, "js"));
  if (tls) {
    conf = conf
      .replace(/^# tls \{$/m, "tls {")
      .replace(/^#   cert_file: .*$/m, `  cert_file: "${tls.cert}"`)
      .replace(/^#   key_file: .*$/m, `  key_file: "${tls.key}"`)
      .replace(/^#   ca_file: .*$/m, `  ca_file: "${tls.ca}"`)
      .replace(/^#   timeout: 2$/m, "  timeout: 2")
      .replace(/^# \}$/m, "}");
    expect(conf).toContain(`cert_file: "${tls.cert}"`);
  }
  writeFileSync(path.join(dir, "nats.conf"), conf);
  const server = new NatsServer(port, ["-c", path.join(dir, "nats.conf")], dir, { NATS_REGISTRAR_PASSWORD: PASSWORD });
  await server.start();
  return server;
}

const withCreds = (url: string, user: string, pass: string) => url.replace("nats://", `nats://${user}:${encodeURIComponent(pass)}@`);

describe("the shipped NATS config for one registrar cluster", () => {
  const dbUrl = freshDatabaseUrl("natscred");
  let nats: NatsServer;
  const nodes: ChildRegistrar[] = [];

  beforeAll(async () => {
    nats = await fromShippedConfig();
  }, 30_000);

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill("SIGKILL")));
    await nats?.cleanup();
    await dropDatabase(dbUrl);
  });

  it("refuses a client without credentials or with a wrong password", async () => {
    await expect(natsConnect({ servers: nats.url, timeout: 3000 })).rejects.toThrow(/authorization/i);
    await expect(natsConnect({ servers: nats.url, user: "registrar", pass: "wrong", timeout: 3000 })).rejects.toThrow(/authorization/i);
  });

  it("lets the registrar's user use its cluster's subjects only", async () => {
    const nc = await natsConnect({ servers: nats.url, user: "registrar", pass: PASSWORD });
    try {
      const errors: string[] = [];
      void (async () => {
        for await (const s of nc.status()) if (s.type === "error") errors.push(String((s as { error?: unknown }).error ?? s.type));
      })();
      const own = nc.subscribe("zent.zent.events");
      const other = nc.subscribe("zent.othercluster.>");
      await nc.flush();
      // The server refuses the foreign subscription: nats.js closes it with a permission error.
      await expect(other.closed).resolves.toBeInstanceOf(Error);
      expect(own.isClosed()).toBe(false);
      nc.publish("zent.othercluster.events", new TextEncoder().encode("{}"));
      await nc.flush();
      await expect.poll(() => errors.join(" "), { timeout: 3000 }).toMatch(/permission/i);
    } finally {
      await nc.close();
    }
  });

  it("runs a two-node registrar cluster with the credentials, shard leases included", async () => {
    const env = { DATABASE_URL: dbUrl, NATS_URL: withCreds(nats.url, "registrar", PASSWORD), CLUSTER_ID: "zent", ALLOW_INSECURE_URLS: "true", LOG_LEVEL: "warn" };
    nodes.push(await spawnRegistrar({ ...env, NODE_ID: "cred-a" }));
    nodes.push(await spawnRegistrar({ ...env, NODE_ID: "cred-b" }));
    const [a, b] = nodes.map((n) => n.url);
    await waitForShards([a, b]);
    for (const u of [a, b]) expect((await api(u).get("/v1/health")).body.checks.nats).toBe("ok");
    const s = newServer();
    const reg = await api(a).post("/v1/servers", s);
    expect(reg.status).toBe(201);
    await expect.poll(() => api(b).get(`/v1/servers/${s.domain}`).then((r) => r.status)).toBe(200);
    expect((await api(b).post(`/v1/servers/${s.domain}/heartbeat`, {}, { token: reg.body.token })).status).toBe(200);
  }, 90_000);

  it("fails the start of a registrar with wrong or missing credentials, saying so", async () => {
    const env = { DATABASE_URL: dbUrl, CLUSTER_ID: "zent", LOG_LEVEL: "warn" };
    for (const natsUrl of [withCreds(nats.url, "registrar", "wrong-password"), nats.url]) {
      const started = spawnRegistrar({ ...env, NATS_URL: natsUrl }, 20_000);
      const err = await started.then((n) => (nodes.push(n), null), (e: Error) => e);
      expect(err, natsUrl).toBeInstanceOf(Error);
      expect(err!.message).toMatch(/NATS refused this node's credentials/);
      expect(err!.message).not.toContain("wrong-password");
    }
  }, 60_000);
});

describe("the shipped NATS config with TLS on", () => {
  const dbUrl = freshDatabaseUrl("natstls");
  let dir: string;
  let nats: NatsServer;
  let ca: string;
  let node: ChildRegistrar | null = null;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "zt-natstls-"));
    const files = makeCertificates(dir);
    ca = files.ca;
    const server = issueServerCert(dir, ["DNS:localhost", "IP:127.0.0.1"]);
    nats = await fromShippedConfig({ cert: server.cert, key: server.key, ca });
  }, 30_000);

  afterAll(async () => {
    await node?.kill("SIGKILL");
    await nats?.cleanup();
    rmSync(dir, { recursive: true, force: true });
    await dropDatabase(dbUrl);
  });

  it("connects a registrar that trusts the CA (NATS_TLS_CA) and refuses a plain-text client", async () => {
    await expect(natsConnect({ servers: nats.url, user: "registrar", pass: PASSWORD, timeout: 3000 })).rejects.toThrow();
    node = await spawnRegistrar({
      DATABASE_URL: dbUrl, CLUSTER_ID: "zent", LOG_LEVEL: "warn", ALLOW_INSECURE_URLS: "true",
      NATS_URL: withCreds(nats.url, "registrar", PASSWORD), NATS_TLS_CA: ca,
    });
    await waitForShards([node.url]);
    expect((await api(node.url).post("/v1/servers", newServer())).status).toBe(201);
  }, 60_000);
});

describe("a NATS server with decentralised (JWT) auth and a registrar with NATS_CREDS", () => {
  const dbUrl = freshDatabaseUrl("natsjwt");
  let dir: string;
  let nats: NatsServer;
  let node: ChildRegistrar | null = null;
  const jwt = makeNatsJwt(["zent.zent.>", "_INBOX.>", "$JS.API.>", "$JS.FC.>", "$KV.zent_zent_shards.>"]);

  beforeAll(async () => {
    const port = await freePort();
    dir = mkdtempSync(path.join(os.tmpdir(), "zt-natsjwt-"));
    writeFileSync(path.join(dir, "nats.conf"), `listen: 127.0.0.1:${port}\njetstream { store_dir: "${path.join(dir, "js")}" }\n${jwt.serverConfig}\n`);
    writeFileSync(path.join(dir, "registrar.creds"), jwt.creds, { mode: 0o600 });
    writeFileSync(path.join(dir, "stranger.creds"), jwt.foreignCreds, { mode: 0o600 });
    nats = new NatsServer(port, ["-c", path.join(dir, "nats.conf")], dir);
    await nats.start();
  }, 30_000);

  afterAll(async () => {
    await node?.kill("SIGKILL");
    await nats?.cleanup();
    await dropDatabase(dbUrl);
  });

  it("runs a registrar that logs in with its .creds file, and fails one whose user the server does not know", async () => {
    await expect(natsConnect({ servers: nats.url, timeout: 3000 })).rejects.toThrow(/authorization/i);
    const env = { DATABASE_URL: dbUrl, CLUSTER_ID: "zent", LOG_LEVEL: "warn", ALLOW_INSECURE_URLS: "true", NATS_URL: nats.url };
    node = await spawnRegistrar({ ...env, NODE_ID: "jwt-a", NATS_CREDS: path.join(dir, "registrar.creds") });
    await waitForShards([node.url]);
    expect((await api(node.url).post("/v1/servers", newServer())).status).toBe(201);
    const err = await spawnRegistrar({ ...env, NODE_ID: "jwt-b", NATS_CREDS: path.join(dir, "stranger.creds") }, 20_000).then(
      (n) => (void n.kill("SIGKILL"), null),
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/NATS refused this node's credentials \(NATS_CREDS\)/);
  }, 60_000);
});
