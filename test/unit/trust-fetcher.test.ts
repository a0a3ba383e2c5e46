// DocumentFetcher against real local HTTP and HTTPS servers: success and every failure reason of contract §8.1.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DocumentFetcher, type DocumentFetcherOptions } from "../../src/trust/document-fetcher.js";
import { FetchSlotsFullError } from "../../src/trust/fetch-slots.js";
import { TRUST_DEFAULTS } from "../../src/trust/settings.js";
import { DocumentServer, TEST_TLS } from "../support/zent-docs.js";
import { quietFor } from "../support/wait.js";

const DOC = { domain: "chat.zent.test", registrars: { "reg.test": "c".repeat(43) }, keys: [] };

describe("DocumentFetcher", () => {
  let docs: DocumentServer;
  let tlsDocs: DocumentServer;
  beforeAll(async () => {
    docs = await DocumentServer.start();
    tlsDocs = await DocumentServer.start({ tls: true });
  });
  afterAll(async () => {
    await docs.close();
    await tlsDocs.close();
  });

  const failures: { domain: string; reason: string; detail: string }[] = [];
  const fetcher = (o: Partial<DocumentFetcherOptions> = {}) =>
    new DocumentFetcher({
      urlTemplate: docs.urlTemplate,
      allowPrivate: true,
      allowInsecure: true,
      timeoutMs: TRUST_DEFAULTS.fetchTimeoutMs,
      maxBytes: TRUST_DEFAULTS.fetchMaxBytes,
      concurrency: TRUST_DEFAULTS.fetchConcurrency,
      maxQueued: TRUST_DEFAULTS.fetchMaxQueued,
      userAgent: "zent-registrar-test",
      onFailure: (f) => failures.push(f),
      ...o,
    });

  it("returns the parsed document from the templated URL", async () => {
    docs.set("chat.zent.test", { json: DOC });
    const r = await fetcher().fetch("chat.zent.test");
    expect(r).toEqual({ ok: true, url: `http://127.0.0.1:${docs.port}/chat.zent.test/.well-known/zent`, json: DOC, bytes: JSON.stringify(DOC).length });
  });

  it("fetches over https with the server's certificate checked", async () => {
    tlsDocs.set("chat.zent.test", { json: DOC });
    const ok = await fetcher({ urlTemplate: tlsDocs.urlTemplate, ca: TEST_TLS.cert }).fetch("chat.zent.test");
    expect(ok).toMatchObject({ ok: true, json: DOC });
    // Without the test CA the certificate is untrusted: unreachable, with the TLS error code but no address.
    const bad = await fetcher({ urlTemplate: tlsDocs.urlTemplate }).fetch("chat.zent.test");
    expect(bad).toMatchObject({ ok: false, reason: "unreachable" });
    expect(bad.ok || bad.message).toMatch(/^the TLS handshake failed \([A-Z0-9_]+\)$/);
  });

  it("reports an HTTP status other than 200 as http_status", async () => {
    docs.set("gone.zent.test", { status: 410, body: "gone" });
    expect(await fetcher().fetch("gone.zent.test")).toMatchObject({ ok: false, reason: "http_status", message: "the document URL answered HTTP 410" });
    expect(await fetcher().fetch("unknown.zent.test")).toMatchObject({ ok: false, reason: "http_status", message: "the document URL answered HTTP 404" });
    docs.set("err.zent.test", { status: 500 });
    expect(await fetcher().fetch("err.zent.test")).toMatchObject({ ok: false, reason: "http_status" });
  });

  it("does not follow a redirect, even to a valid document", async () => {
    docs.set("chat.zent.test", { json: DOC });
    docs.set("moved.zent.test", { redirect: `http://127.0.0.1:${docs.port}/chat.zent.test/.well-known/zent` });
    const before = docs.requests.length;
    expect(await fetcher().fetch("moved.zent.test")).toMatchObject({ ok: false, reason: "redirect" });
    expect(docs.requests.slice(before)).toEqual(["moved.zent.test"]);
  });

  it("reports a body that is not JSON as not_json", async () => {
    docs.set("html.zent.test", { status: 200, body: "<html>hello</html>", headers: { "content-type": "text/html" } });
    expect(await fetcher().fetch("html.zent.test")).toMatchObject({ ok: false, reason: "not_json", message: "the document is not JSON" });
    docs.set("empty.zent.test", { status: 200, body: "" });
    expect(await fetcher().fetch("empty.zent.test")).toMatchObject({ ok: false, reason: "not_json" });
  });

  it("accepts exactly 64 KiB and refuses one byte more, declared or not", async () => {
    const exact = JSON.stringify({ ...DOC, pad: "" });
    const padded = { ...DOC, pad: "p".repeat(65_536 - exact.length) };
    expect(JSON.stringify(padded).length).toBe(65_536);
    docs.set("exact.zent.test", { json: padded });
    expect(await fetcher().fetch("exact.zent.test")).toMatchObject({ ok: true, bytes: 65_536 });
    docs.set("over.zent.test", { bytes: 65_537 });
    expect(await fetcher().fetch("over.zent.test")).toMatchObject({ ok: false, reason: "too_large" });
    docs.set("chunked.zent.test", { bytes: 65_537, chunked: true });
    expect(await fetcher().fetch("chunked.zent.test")).toMatchObject({ ok: false, reason: "too_large" });
  });

  it("stops reading at the limit: a 50 MB answer is not downloaded", async () => {
    docs.set("huge.zent.test", { bytes: 50_000_000, chunked: true });
    const before = docs.written.length;
    expect(await fetcher().fetch("huge.zent.test")).toMatchObject({ ok: false, reason: "too_large" });
    await expect.poll(() => docs.written.length).toBeGreaterThan(before);
    // Socket buffers on both sides hold a few MB at most; the server could never write the whole answer.
    await quietFor(200); // absence check: the writing has stopped, not just slowed
    expect(docs.written[before]).toBeLessThan(10_000_000);
  });

  it("gives up after the time limit on a server that never answers, and on one that drips forever", async () => {
    docs.set("hang.zent.test", { hang: true });
    const t0 = performance.now();
    expect(await fetcher({ timeoutMs: 300 }).fetch("hang.zent.test")).toMatchObject({ ok: false, reason: "timeout", message: "no complete answer within 0.3 s" });
    expect(performance.now() - t0).toBeLessThan(2000);
    // A slow-loris body: every chunk arrives in time, the whole never does.
    docs.set("drip.zent.test", { drip: { chunk: " ", everyMs: 20 } });
    expect(await fetcher({ timeoutMs: 300 }).fetch("drip.zent.test")).toMatchObject({ ok: false, reason: "timeout" });
  });

  it("reports a refused connection as unreachable without naming the address", async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const r = await fetcher({ urlTemplate: `http://127.0.0.1:${closed}/{domain}/.well-known/zent` }).fetch("chat.zent.test");
    expect(r).toMatchObject({ ok: false, reason: "unreachable", message: "the connection was refused" });
    // The log gets the detail; the outcome (what a client sees) has no address.
    expect(failures.at(-1)?.detail).toContain("ECONNREFUSED");
  });

  it("refuses a private address under the default rules without contacting it (review L1: no address in the text)", async () => {
    docs.set("chat.zent.test", { json: DOC });
    const before = docs.connections;
    const lookups: string[] = [];
    const lookup = async (host: string) => {
      lookups.push(host);
      return [{ address: "127.0.0.1", family: 4 }];
    };
    const f = fetcher({ allowPrivate: false, lookup, urlTemplate: `http://{domain}:${docs.port}/{domain}/.well-known/zent` });
    const r = await f.fetch("chat.zent.test");
    expect(r).toEqual({ ok: false, url: `http://chat.zent.test:${docs.port}/chat.zent.test/.well-known/zent`, reason: "unreachable", message: "the host name does not resolve to a public address" });
    expect(lookups).toEqual(["chat.zent.test"]);
    expect(docs.connections).toBe(before);
    // An IP literal in the template is checked the same way.
    expect(await fetcher({ allowPrivate: false }).fetch("chat.zent.test")).toMatchObject({ ok: false, reason: "unreachable" });
    expect(docs.connections).toBe(before);
  });

  it("refuses when any one of the addresses is private, and a name that does not resolve, with the same text", async () => {
    const mixed = async () => [{ address: "93.184.216.34", family: 4 }, { address: "10.0.0.5", family: 4 }];
    const r = await fetcher({ allowPrivate: false, lookup: mixed, urlTemplate: "https://{domain}/.well-known/zent", allowInsecure: false }).fetch("chat.zent.test");
    expect(r).toMatchObject({ ok: false, reason: "unreachable", message: "the host name does not resolve to a public address" });
    const nx = async () => {
      throw Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" });
    };
    const r2 = await fetcher({ allowPrivate: false, lookup: nx }).fetch("nowhere.zent.test");
    expect(r2).toMatchObject({ ok: false, reason: "unreachable", message: "the host name does not resolve to a public address" });
  });

  it("connects only to the checked address (pinned), never to a second DNS answer", async () => {
    docs.set("pinned.zent.test", { json: { ...DOC, domain: "pinned.zent.test" } });
    let lookups = 0;
    const lookup = async () => {
      lookups++;
      return [{ address: "127.0.0.1", family: 4 }];
    };
    const r = await fetcher({ lookup, urlTemplate: `http://{domain}.invalid:${docs.port}/{domain}/.well-known/zent` }).fetch("pinned.zent.test");
    expect(r).toMatchObject({ ok: true });
    expect(lookups).toBe(1);
  });

  it("fetches over https on port 443 only when the template is the default", async () => {
    const lookup = async () => [{ address: "127.0.0.1", family: 4 }];
    const strict = fetcher({ allowInsecure: false, lookup, urlTemplate: `https://{domain}:${tlsDocs.port}/.well-known/zent`, ca: TEST_TLS.cert });
    expect(await strict.fetch("chat.zent.test")).toMatchObject({ ok: false, reason: "unreachable", message: "the document is fetched from port 443 only" });
    const plain = fetcher({ allowInsecure: false, lookup, urlTemplate: `http://{domain}/.well-known/zent` });
    expect(await plain.fetch("chat.zent.test")).toMatchObject({ ok: false, reason: "unreachable", message: "the document is fetched over https only" });
  });

  it("runs at most `concurrency` fetches at once, queues a bounded number and refuses the rest", async () => {
    docs.set("slow.zent.test", { drip: { chunk: "{}", everyMs: 50, totalBytes: 2, contentLength: 2 } });
    const f = fetcher({ concurrency: 2, maxQueued: 3 });
    docs.maxActive = 0;
    const runs = Array.from({ length: 5 }, () => f.fetch("slow.zent.test"));
    await expect(f.fetch("slow.zent.test")).rejects.toBeInstanceOf(FetchSlotsFullError);
    const results = await Promise.all(runs);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(docs.maxActive).toBe(2);
  });
});
