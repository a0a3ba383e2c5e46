// Trust on a 2-node cluster (contract §8, issues 9 and 10): one registrar key for every node, an assertion accepted
// once across the nodes, proofs and operator actions through either node, and one node re-checking each domain.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createIdentityAssertion } from "../../client/identity.js";
import { verifyZentSignature } from "../../client/signature.js";
import { startCluster, waitForShards, type TestCluster } from "../support/cluster.js";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api } from "../support/http.js";
import { startNats, type NatsServer } from "../support/nats-server.js";
import { trustEnv, verifiedServer, type TestServer } from "../support/trust.js";
import { DocumentServer } from "../support/zent-docs.js";
import { letTimePass } from "../support/wait.js";

const REG = "reg.cluster.test";
const ADMIN_TOKEN = "0f".repeat(32);

describe("trust on a 2-node cluster", () => {
  const dbUrl = freshDatabaseUrl("trustcl");
  let nats: NatsServer;
  let docs: DocumentServer;
  let cluster: TestCluster;
  let home: TestServer;
  const urls = () => cluster.nodes.map((n) => n!.url);

  beforeAll(async () => {
    nats = await startNats();
    docs = await DocumentServer.start();
    cluster = await startCluster(2, {
      DATABASE_URL: dbUrl, NATS_URL: nats.url, REGISTRAR_ID: REG, ADMIN_TOKEN, ...trustEnv(docs, { VERIFY_RECHECK_S: "0.5", VERIFY_GRACE_S: "60" }),
    });
    await waitForShards(urls());
    home = await verifiedServer(urls()[0], docs, REG);
  }, 90_000);

  afterAll(async () => {
    await cluster?.stopAll();
    await nats?.cleanup();
    await docs?.close();
    await dropDatabase(dbUrl);
  });

  it("signs with the same registrar key on every node", async () => {
    const [a, b] = urls();
    const wa = (await api(a).get("/.well-known/zent-registrar")).body;
    const wb = (await api(b).get("/.well-known/zent-registrar")).body;
    expect(wb).toEqual(wa);
    await vi.waitFor(async () => expect((await api(b).get(`/v1/servers/${home.domain}`)).body.server.verified).toBe(true), { timeout: 2000, interval: 20 });
    const res = await fetch(`${b}/v1/servers/${home.domain}/keys`);
    expect(res.status).toBe(200);
    expect(await verifyZentSignature(new Uint8Array(await res.arrayBuffer()), res.headers.get("zent-signature"), wa)).toBe(true);
  });

  it("accepts an assertion once, even when it is replayed on the other node or sent to both at once", async () => {
    const [a, b] = urls();
    const make = () => createIdentityAssertion({ iss: home.domain, sub: "alice", audience: REG, kid: home.kid, privateKey: home.key.privateKey });
    const first = await make();
    expect((await api(a).post("/v1/identity/verify", { assertion: first })).status).toBe(200);
    const replay = await api(b).post("/v1/identity/verify", { assertion: first });
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe("invalid_assertion");
    for (let round = 0; round < 5; round++) {
      const both = await make();
      const answers = await Promise.all([a, b, a, b].map((u) => api(u).post("/v1/identity/verify", { assertion: both })));
      expect(answers.map((r) => r.status).sort()).toEqual([200, 401, 401, 401]);
    }
  });

  it("runs proofs and operator actions through either node, for domains owned by either", async () => {
    const [a, b] = urls();
    const s = await verifiedServer(b, docs, REG);
    const reissued = await api(a).post(`/v1/admin/servers/${s.domain}/token`, undefined, { token: ADMIN_TOKEN });
    expect(reissued.status).toBe(200);
    for (const u of [a, b]) {
      expect((await api(u).post(`/v1/servers/${s.domain}/heartbeat`, undefined, { token: s.token })).status).toBe(401);
      expect((await api(u).post(`/v1/servers/${s.domain}/heartbeat`, undefined, { token: reissued.body.token })).status).toBe(200);
    }
    expect((await api(b).put(`/v1/admin/servers/${s.domain}/verified`, { verified: false }, { token: ADMIN_TOKEN })).status).toBe(200);
    await vi.waitFor(async () => expect((await api(a).get(`/v1/servers/${s.domain}`)).body.server.verified).toBe(false), { timeout: 2000, interval: 20 });
  });

  it("re-checks each domain on one node only", async () => {
    const s = await verifiedServer(urls()[0], docs, REG);
    const count = () => docs.requests.filter((d) => d === s.domain).length;
    const start = count();
    const t0 = Date.now();
    await letTimePass(3000); // a fixed window: the number of fetches in it is the measurement
    const periods = (Date.now() - t0) / 500;
    const fetched = count() - start;
    expect(fetched).toBeGreaterThanOrEqual(2);
    // Two nodes each re-checking would fetch about twice per period.
    expect(fetched).toBeLessThanOrEqual(periods + 2);
  });
});
