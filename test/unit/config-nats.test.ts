// NATS link settings (README config table, docs/operations.md): credentials in NATS_URL, NATS_CREDS, NATS_TLS_*;
// files checked at start, errors name the variable and never print a secret.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { linkOptions } from "../../transport/nats/nats-link.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "zt-natscfg-"));
const file = (name: string, text = "x") => {
  const f = path.join(dir, name);
  writeFileSync(f, text);
  return f;
};
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NATS_URL = "nats://registrar:s3cret-pass@127.0.0.1:4222";

describe("NATS link settings", () => {
  it("no NATS_URL: no link, single node", () => {
    expect(loadConfig({}).nats).toBeNull();
  });

  it("takes credentials out of NATS_URL, and turns TLS on with NATS_TLS_CA or a client certificate", () => {
    const ca = file("ca.pem");
    const c = loadConfig({ NATS_URL, NATS_TLS_CA: ca });
    expect(c.nats).toEqual({ url: NATS_URL, credsFile: undefined, tls: { caFile: ca, certFile: undefined, keyFile: undefined } });
    const opts = linkOptions(c.nats!);
    expect(opts).toMatchObject({ servers: ["nats://127.0.0.1:4222"], user: "registrar", pass: "s3cret-pass", tls: { caFile: ca } });
    expect(loadConfig({ NATS_URL }).nats!.tls).toBeUndefined();
    expect(loadConfig({ NATS_URL: "tls://nats.example:4222" }).nats!.tls).toEqual({ caFile: undefined, certFile: undefined, keyFile: undefined });
    const cert = file("client.pem");
    const key = file("client-key.pem");
    expect(loadConfig({ NATS_URL, NATS_TLS_CERT: cert, NATS_TLS_KEY: key }).nats!.tls).toEqual({ caFile: undefined, certFile: cert, keyFile: key });
  });

  it("builds a .creds authenticator from NATS_CREDS", () => {
    const creds = file("registrar.creds", "-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QifQ.e30.x\n------END NATS USER JWT------\n");
    const c = loadConfig({ NATS_URL: "nats://127.0.0.1:4222", NATS_CREDS: creds });
    expect(c.nats!.credsFile).toBe(creds);
    expect(typeof linkOptions(c.nats!).authenticator).toBe("function");
  });

  it.each([
    [{ NATS_URL, NATS_CREDS: "/nonexistent/registrar.creds" }, /^invalid NATS_CREDS="\/nonexistent\/registrar.creds": cannot read the file \(ENOENT\)$/],
    [{ NATS_URL, NATS_TLS_CA: "/nonexistent/ca.pem" }, /^invalid NATS_TLS_CA=.*cannot read the file/],
    [{ NATS_TLS_CA: "/etc/hostname" }, /^invalid NATS_TLS_CA=.*it needs NATS_URL/],
    [{ NATS_URL, NATS_TLS_CERT: "/etc/hostname" }, /^invalid NATS_TLS_KEY: a NATS client certificate needs both/],
    [{ NATS_URL, NATS_TLS_KEY: "/etc/hostname" }, /^invalid NATS_TLS_CERT: a NATS client certificate needs both/],
  ])("refuses %o", (env, message) => {
    let err: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).not.toContain("s3cret-pass");
  });
});
