// Keys, identity assertions and ratings over real HTTP and MariaDB (contract §8.3, §8.4): the signed key directory,
// every refusal of an assertion, who may rate, and the SDK helpers against the running registrar.
import type { RowDataPacket } from "mysql2/promise";
import { base64url, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIdentityAssertion, verifyIdentityAssertion } from "../../client/identity.js";
import { fetchKeysFromRegistrar, fetchRegistrarKeys, keysFromDomain, keysFromRegistrar } from "../../client/key-directory.js";
import { RegistrarClient } from "../../client/http.js";
import { RegistrarApiError } from "../../client/errors.js";
import { verifyZentSignature } from "../../client/signature.js";
import { generateIdentityKey } from "../../client/zent-document.js";
import { connect, dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";
import { publish, trustEnv, verifiedServer, type TestServer } from "../support/trust.js";
import { DocumentServer } from "../support/zent-docs.js";
import { letTimePass } from "../support/wait.js";

const REG = "reg.identity.test";

describe("keys, assertions and ratings", () => {
  const dbUrl = freshDatabaseUrl("trustid");
  let docs: DocumentServer;
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  let db: Awaited<ReturnType<typeof connect>>;
  let home: TestServer;
  let rated: TestServer;

  beforeAll(async () => {
    docs = await DocumentServer.start();
    reg = await startRegistrar({ DATABASE_URL: dbUrl, REGISTRAR_ID: REG, ...trustEnv(docs, { RATE_LIMIT_RATE_PER_HOME: "6/3600" }) });
    c = api(reg.url);
    db = await connect(dbUrl);
    home = await verifiedServer(reg.url, docs, REG);
    rated = await verifiedServer(reg.url, docs, REG);
  });
  afterAll(async () => {
    await db?.end();
    await reg?.stop();
    await docs?.close();
    await dropDatabase(dbUrl);
  });

  const assertion = (o: Partial<Parameters<typeof createIdentityAssertion>[0]> = {}) =>
    createIdentityAssertion({ iss: home.domain, sub: "alice", audience: REG, kid: home.kid, privateKey: home.key.privateKey, ...o });
  const verify = (a: string) => c.post("/v1/identity/verify", { assertion: a });

  describe("the key directory", () => {
    it("serves a verified domain's keys signed with the key of /.well-known/zent-registrar", async () => {
      const wk = await c.get("/.well-known/zent-registrar");
      expect(wk.status).toBe(200);
      expect(wk.body).toEqual({ registrar: REG, keys: [{ kid: expect.any(String), alg: "Ed25519", public_key: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) }] });
      const res = await fetch(`${reg.url}/v1/servers/${home.domain}/keys`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const header = res.headers.get("zent-signature");
      expect(header).toMatch(new RegExp(`^${REG.replace(/\./g, "\\.")};${wk.body.keys[0].kid};[A-Za-z0-9_-]{86}$`));
      expect(await verifyZentSignature(bytes, header, wk.body)).toBe(true);
      const tampered = Uint8Array.from(bytes);
      tampered[tampered.length - 3] ^= 1;
      expect(await verifyZentSignature(tampered, header, wk.body)).toBe(false);
      const body = JSON.parse(new TextDecoder().decode(bytes));
      expect(body).toEqual({ domain: home.domain, verified_at: expect.any(String), fetched_at: expect.any(String), keys: [expect.objectContaining({ kid: "k1", public_key: home.key.publicKey })] });
    });

    it("answers 404 for an unknown or unverified domain", async () => {
      expect((await c.get(`/v1/servers/nobody-${Date.now()}.example.com/keys`)).status).toBe(404);
      const plain = newServer();
      await c.post("/v1/servers", plain);
      expect((await c.get(`/v1/servers/${plain.domain}/keys`)).status).toBe(404);
    });

    it("works with the SDK: pinned registrar keys, signed key fetches, local assertion checks", async () => {
      const pinned = await fetchRegistrarKeys(reg.url);
      expect(pinned.registrar).toBe(REG);
      const keys = await fetchKeysFromRegistrar(reg.url, home.domain, pinned);
      expect(keys?.keys[0].public_key).toBe(home.key.publicKey);
      expect(await fetchKeysFromRegistrar(reg.url, `nobody-${Date.now()}.example.com`, pinned)).toBeNull();
      // A server verifying an assertion for itself, from the registrar's signed keys or from the domain.
      const a = await assertion({ audience: "other-server.example.net" });
      const viaRegistrar = await verifyIdentityAssertion(a, { audience: "other-server.example.net", keys: keysFromRegistrar(reg.url, pinned) });
      expect(viaRegistrar.identity).toBe(`alice@${home.domain}`);
      const viaDomain = await verifyIdentityAssertion(a, {
        audience: "other-server.example.net", keys: keysFromDomain({ documentUrl: (d) => docs.urlTemplate.replace("{domain}", d) }),
      });
      expect(viaDomain.identity).toBe(`alice@${home.domain}`);
      // Keys signed by another registrar key are refused.
      const forged = { ...pinned, keys: [{ ...pinned.keys[0], public_key: (await generateIdentityKey()).publicKey }] };
      await expect(fetchKeysFromRegistrar(reg.url, home.domain, forged)).rejects.toThrow(/not signed/);
    });
  });

  it("drives the trust routes through RegistrarClient: verify, keys, identity, rating, recovery", async () => {
    const sdk = new RegistrarClient(reg.url);
    const body = newServer();
    const { token } = await sdk.registerServer(body);
    const ch = await sdk.requestVerification(body.domain, token);
    expect(ch.registrar).toBe(REG);
    const key = await generateIdentityKey();
    await expect(sdk.checkVerification(body.domain, token)).rejects.toMatchObject({ status: 422, code: "verification_failed" });
    await publish(docs, body.domain, { [REG]: ch.challenge }, [{ kid: "sdk", key }]);
    expect((await sdk.checkVerification(body.domain, token)).verified).toBe(true);
    expect((await sdk.serverKeys(body.domain)).keys.map((k) => k.kid)).toEqual(["sdk"]);
    const a = await createIdentityAssertion({ iss: body.domain, sub: "gina", audience: REG, kid: "sdk", privateKey: key.privateKey });
    expect(await sdk.verifyIdentity(a)).toMatchObject({ identity: `gina@${body.domain}` });
    await expect(sdk.verifyIdentity(a)).rejects.toBeInstanceOf(RegistrarApiError);
    const r = await sdk.rateServer(home.domain, { rating: 4, from_domain: body.domain, user_id: "gina" }, token);
    expect(r).toMatchObject({ created: true, rating: { user_id: `gina@${body.domain}`, verified: true } });
    const rec = await sdk.requestRecovery(body.domain);
    await publish(docs, body.domain, { [REG]: rec.challenge }, [{ kid: "sdk", key }]);
    const back = await sdk.completeRecovery(body.domain);
    expect(back.server.verified).toBe(true);
    await expect(sdk.heartbeat(body.domain, token)).rejects.toMatchObject({ status: 401 });
    expect((await sdk.heartbeat(body.domain, back.token)).status).toBe("online");
  });

  describe("POST /v1/identity/verify", () => {
    it("accepts a valid assertion once", async () => {
      const a = await assertion();
      const ok = await verify(a);
      expect(ok.status).toBe(200);
      expect(ok.body).toEqual({ identity: `alice@${home.domain}`, iss: home.domain, sub: "alice", exp: expect.any(Number) });
      const replay = await verify(a);
      expect(replay.status).toBe(401);
      expect(replay.body.error.code).toBe("invalid_assertion");
    });

    const signed = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) => {
      const iat = Math.floor(Date.now() / 1000) - 5;
      return new SignJWT({ iss: home.domain, sub: "alice", aud: REG, iat, exp: iat + 300, jti: `j${Math.random()}`, ...claims })
        .setProtectedHeader({ alg: "EdDSA", kid: home.kid, typ: "zent-identity+jwt", ...header } as never)
        .sign(home.key.privateKey);
    };

    it.each([
      ["expired", () => assertion({ nowMs: Date.now() - 400_000, lifetimeS: 300 })],
      ["exp - iat over 600 s", () => signed({ exp: Math.floor(Date.now() / 1000) + 700 })],
      ["another audience", () => assertion({ audience: "reg.elsewhere.test" })],
      ["an unknown kid", () => assertion({ kid: "k9" })],
      ["an unknown issuer", () => assertion({ iss: `nobody-${Date.now()}.example.com` })],
      ["a tampered payload", async () => {
        const [h, p, s] = (await assertion()).split(".");
        const claims = JSON.parse(new TextDecoder().decode(base64url.decode(p)));
        return `${h}.${base64url.encode(JSON.stringify({ ...claims, sub: "mallory" }))}.${s}`;
      }],
      ["alg none", async () => {
        const [, p] = (await assertion()).split(".");
        return `${base64url.encode(JSON.stringify({ alg: "none", kid: home.kid, typ: "zent-identity+jwt" }))}.${p}.`;
      }],
      ["a signature by another key", async () => assertion({ privateKey: (await generateIdentityKey()).privateKey })],
      ["garbage", async () => "not-a-jws"],
    ])("refuses %s with 401 invalid_assertion", async (_what, make) => {
      const res = await verify(await make());
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("invalid_assertion");
    });

    it("refuses a key past its valid_until and an issuer that is not verified", async () => {
      const s = await verifiedServer(reg.url, docs, REG);
      const ch = (await c.post(`/v1/servers/${s.domain}/verification`, undefined, { token: s.token })).body.challenge;
      await publish(docs, s.domain, { [REG]: ch }, [{ kid: "old", key: s.key, validUntil: new Date(Date.now() + 1500).toISOString() }]);
      expect((await c.post(`/v1/servers/${s.domain}/verification/check`, undefined, { token: s.token })).status).toBe(200);
      const early = await createIdentityAssertion({ iss: s.domain, sub: "bob", audience: REG, kid: "old", privateKey: s.key.privateKey });
      await letTimePass(1600); // the key's valid_until passes
      expect((await verify(early)).status).toBe(401);
      // Unverified by the operator's hand or a lapse: its keys no longer count.
      const plain = newServer();
      const r = await c.post("/v1/servers", plain);
      const key = await generateIdentityKey();
      await publish(docs, plain.domain, {}, [{ kid: "k1", key }]);
      expect(r.status).toBe(201);
      expect((await verify(await createIdentityAssertion({ iss: plain.domain, sub: "eve", audience: REG, kid: "k1", privateKey: key.privateKey }))).status).toBe(401);
    });

    it("survives hostile input: huge, non-string, or a flood of forgeries", async () => {
      expect((await c.post("/v1/identity/verify", { assertion: "a".repeat(5000) })).status).toBe(400);
      expect((await c.post("/v1/identity/verify", { assertion: 5 })).status).toBe(400);
      expect((await c.post("/v1/identity/verify", { assertion: "x.y.z", extra: 1 })).status).toBe(400);
      const forged = await assertion({ privateKey: (await generateIdentityKey()).privateKey });
      const t0 = performance.now();
      const results = await Promise.all(Array.from({ length: 200 }, () => verify(forged)));
      expect(results.every((r) => r.status === 401)).toBe(true);
      expect(performance.now() - t0).toBeLessThan(10_000);
      const [[n]] = await db.query<RowDataPacket[]>("SELECT COUNT(*) AS n FROM assertion_jtis WHERE iss = ?", [home.domain]);
      // Forgeries never reach the ledger: only the assertions accepted in this file are there.
      expect(Number(n.n)).toBeLessThan(20);
    });
  });

  describe("who may rate", () => {
    const rate = (body: unknown, token?: string) => c.post(`/v1/servers/${rated.domain}/rate`, body, token ? { token } : undefined);

    it("takes a rating by assertion (verified) and by the home server's token (its verified)", async () => {
      const byAssertion = await rate({ rating: 5, comment: "great", assertion: await assertion({ sub: "carol" }) });
      expect(byAssertion.status).toBe(201);
      expect(byAssertion.body.rating).toMatchObject({ user_id: `carol@${home.domain}`, rating: 5, verified: true });
      const byToken = await rate({ rating: 3, from_domain: home.domain, user_id: "dave" }, home.token);
      expect(byToken.status).toBe(201);
      expect(byToken.body.rating).toMatchObject({ user_id: `dave@${home.domain}`, verified: true });
      // A home server that is not verified vouches as unverified.
      const plain = newServer();
      const p = await c.post("/v1/servers", plain);
      const unverified = await rate({ rating: 2, from_domain: plain.domain, user_id: "erin" }, p.body.token);
      expect(unverified.body.rating).toMatchObject({ user_id: `erin@${plain.domain}`, verified: false });
      const list = (await c.get(`/v1/servers/${rated.domain}/ratings`)).body;
      expect(list.ratings.map((r: { user_id: string; verified: boolean }) => [r.user_id, r.verified])).toEqual([
        [`erin@${plain.domain}`, false], [`dave@${home.domain}`, true], [`carol@${home.domain}`, true],
      ]);
      expect((await c.get(`/v1/servers/${rated.domain}`)).body.server.rating).toEqual({ average: 3.33, count: 3, distribution: [0, 1, 1, 0, 1], verified_count: 2 });
    });

    it("replaces an identity's earlier rating, whichever way it was proved", async () => {
      expect((await rate({ rating: 1, assertion: await assertion({ sub: "frank" }) })).status).toBe(201);
      const again = await rate({ rating: 4, from_domain: home.domain, user_id: "frank" }, home.token);
      expect(again.status).toBe(200);
      const [rows] = await db.query<RowDataPacket[]>("SELECT rating, proof FROM ratings WHERE domain = ? AND user_id = ?", [rated.domain, `frank@${home.domain}`]);
      expect(rows).toEqual([{ rating: 4, proof: "token" }]);
    });

    it("refuses a rating without identity (401), anonymous ones by default, a wrong home token, and self-ratings (400)", async () => {
      const before = (await c.get(`/v1/servers/${rated.domain}`)).body.server.rating;
      expect((await rate({ rating: 5 })).status).toBe(401);
      expect((await rate({ rating: 5, user_id: "anon" })).status).toBe(401);
      expect((await rate({ rating: 5, from_domain: home.domain, user_id: "x" })).status).toBe(401);
      expect((await rate({ rating: 5, from_domain: home.domain, user_id: "x" }, rated.token)).status).toBe(401);
      const self = await rate({ rating: 5, from_domain: rated.domain, user_id: "owner" }, rated.token);
      expect(self.status).toBe(400);
      expect(self.body.error.code).toBe("validation_failed");
      const selfAssertion = await createIdentityAssertion({ iss: rated.domain, sub: "owner", audience: REG, kid: rated.kid, privateKey: rated.key.privateKey });
      expect((await rate({ rating: 5, assertion: selfAssertion })).status).toBe(400);
      expect((await rate({ rating: 5, assertion: "x.y.z" })).status).toBe(401);
      expect((await c.get(`/v1/servers/${rated.domain}`)).body.server.rating).toEqual(before);
    });

    it("applies the same rules through the legacy route's fromDomain/userId (contract §7, §8.4)", async () => {
      const legacy = (body: unknown, token?: string) =>
        fetch(`${reg.url}/servers/${rated.domain}/rate`, {
          method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        }).then(async (r) => ({ status: r.status, json: await r.json() }));
      const ok = await legacy({ fromDomain: home.domain, userId: "legacy-user", rating: "4" }, home.token);
      expect(ok).toEqual({ status: 201, json: { created: true } });
      const [rows] = await db.query<RowDataPacket[]>("SELECT verified, proof FROM ratings WHERE domain = ? AND user_id = ?", [rated.domain, `legacy-user@${home.domain}`]);
      expect(rows).toEqual([{ verified: 1, proof: "token" }]);
      // userId may be 128 characters there (§7), 64 on /v1.
      expect((await legacy({ fromDomain: home.domain, userId: "u".repeat(128), rating: 3 }, home.token)).status).toBe(201);
      expect((await legacy({ fromDomain: home.domain, userId: "x", rating: 3 })).status).toBe(401);
      expect((await legacy({ fromDomain: home.domain, userId: "x", rating: 3 }, rated.token)).status).toBe(401);
      expect((await legacy({ fromDomain: rated.domain, userId: "x", rating: 3 }, rated.token)).status).toBe(400);
    });

    it("limits ratings per home domain (RATE_LIMIT_RATE_PER_HOME)", async () => {
      const h2 = await verifiedServer(reg.url, docs, REG);
      const targets = [rated.domain, home.domain];
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        statuses.push((await c.post(`/v1/servers/${targets[i % 2]}/rate`, { rating: 4, from_domain: h2.domain, user_id: `bulk${i}` }, { token: h2.token })).status);
      }
      // 6 per hour for this home domain, counted across every server its users rate.
      expect(statuses).toEqual([201, 201, 201, 201, 201, 201, 429, 429]);
      // Another home domain is not held back by it.
      expect((await c.post(`/v1/servers/${home.domain}/rate`, { rating: 4, from_domain: rated.domain, user_id: "other-home" }, { token: rated.token })).status).toBe(201);
    });
  });
});

describe("anonymous ratings (RATINGS_ANONYMOUS=true)", () => {
  const dbUrl = freshDatabaseUrl("trustanon");
  let reg: InProcessRegistrar;
  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, RATINGS_ANONYMOUS: "true", RATE_LIMIT_REGISTER: "off" });
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("keeps the old anonymous form, unverified, and never in the shape of a proved identity", async () => {
    const c = api(reg.url);
    const s = newServer();
    await c.post("/v1/servers", s);
    const r = await c.post(`/v1/servers/${s.domain}/rate`, { user_id: "anon", rating: 4 });
    expect(r.status).toBe(201);
    expect(r.body.rating).toMatchObject({ user_id: "anon", verified: false });
    const lookalike = await c.post(`/v1/servers/${s.domain}/rate`, { user_id: "alice@chat.example.com", rating: 1 });
    expect(lookalike.status).toBe(400);
    expect((await c.get(`/v1/servers/${s.domain}`)).body.server.rating).toMatchObject({ count: 1, verified_count: 0 });
  });
});
