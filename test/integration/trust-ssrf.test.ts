// The document fetch under the SSRF rules with the default ALLOW_PRIVATE_FETCH (contract §8.1, review L1): a private
// address is refused without being contacted, and the answer names no address.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { DocumentServer } from "../support/zent-docs.js";

describe("document fetches with the default SSRF rules", () => {
  const dbUrl = freshDatabaseUrl("trustssrf");
  let docs: DocumentServer;
  let pointed: InProcessRegistrar;
  let plain: InProcessRegistrar;

  beforeAll(async () => {
    docs = await DocumentServer.start();
    // A development template aimed at a loopback server, but ALLOW_PRIVATE_FETCH left at its default (false).
    pointed = await startRegistrar({ DATABASE_URL: dbUrl, WELL_KNOWN_URL: docs.urlTemplate, ALLOW_INSECURE_URLS: "true", RATE_LIMIT_REGISTER: "off" });
    // Everything at its default: https://<domain>/.well-known/zent.
    plain = await startRegistrar({ DATABASE_URL: dbUrl, RATE_LIMIT_REGISTER: "off" });
  });
  afterAll(async () => {
    await pointed?.stop();
    await plain?.stop();
    await docs?.close();
    await dropDatabase(dbUrl);
  });

  const attempt = async (url: string, domain?: string) => {
    const c = api(url);
    const body = newServer(domain ? { domain, api_url: `https://${domain}/api` } : {});
    const reg = await c.post("/v1/servers", body);
    expect(reg.status).toBe(201);
    const ch = await c.post(`/v1/servers/${body.domain}/verification`, undefined, { token: reg.body.token });
    docs.set(body.domain, { json: { domain: body.domain, registrars: { local: ch.body.challenge } } });
    return c.post(`/v1/servers/${body.domain}/verification/check`, undefined, { token: reg.body.token });
  };

  it("refuses a loopback document server without connecting to it", async () => {
    const before = docs.connections;
    const res = await attempt(pointed.url);
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([{ path: expect.any(String), reason: "unreachable", message: "the host name does not resolve to a public address" }]);
    expect(docs.connections).toBe(before);
    // The server-side log keeps the detail for the operator.
    expect(pointed.logs.some((l) => l.msg === "document fetch failed" && String(l.detail).includes("127.0.0.1"))).toBe(true);
  });

  it("answers a name that does not resolve in the same words, over https on 443 by default", async () => {
    const res = await attempt(plain.url, `nowhere-${Date.now()}.invalid`);
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([
      { path: expect.stringMatching(/^https:\/\/nowhere-\d+\.invalid\/\.well-known\/zent$/), reason: "unreachable", message: "the host name does not resolve to a public address" },
    ]);
  });
});
