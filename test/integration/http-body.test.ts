// Contract §1 request bodies over real HTTP: JSON parsing, content types, the 64 KiB limit and streaming cut-off.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

const LIMIT = 65_536;
const MiB = 1024 * 1024;

type RawResponse = { status: number; headers: Record<string, string>; body: any; closed: boolean; sentBytes: number };

/**
 * Sends one HTTP/1.1 request over a plain socket so the test controls every byte (Content-Length, chunking), and
 * resolves with the parsed response once the server answered (and, when it closes, once the socket closed).
 */
function rawRequest(port: number, head: string[], body: Buffer | ((write: (b: Buffer) => boolean) => AsyncGenerator<void>) | null): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    let received = Buffer.alloc(0);
    let sentBytes = 0;
    let closed = false;
    let settled = false;
    const tryParse = (final: boolean) => {
      const text = received.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) {
        if (final) reject(new Error(`no complete response (${received.length} bytes): ${text.slice(0, 200)}`));
        return;
      }
      const lines = text.slice(0, end).split("\r\n");
      const status = Number(lines[0].split(" ")[1]);
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const i = l.indexOf(":");
        headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const len = Number(headers["content-length"] ?? 0);
      const bodyBytes = received.subarray(Buffer.byteLength(text.slice(0, end + 4), "latin1"));
      if (bodyBytes.length < len) {
        if (final) reject(new Error("truncated response body"));
        return;
      }
      // A response that closes the connection is only complete once the socket closed.
      if (!final && headers.connection === "close") return;
      if (settled) return;
      settled = true;
      const bodyText = bodyBytes.subarray(0, len).toString("utf8");
      resolve({ status, headers, body: bodyText ? JSON.parse(bodyText) : undefined, closed, sentBytes });
      if (!closed) sock.destroy();
    };
    sock.on("data", (d) => {
      received = Buffer.concat([received, d]);
      tryParse(false);
    });
    sock.on("error", () => {
      // EPIPE / ECONNRESET once the server hung up mid-upload: expected for refused bodies.
    });
    sock.on("close", () => {
      closed = true;
      if (!settled) tryParse(true);
    });
    sock.on("connect", async () => {
      sock.write(head.join("\r\n") + "\r\n\r\n");
      if (body === null) return;
      if (Buffer.isBuffer(body)) {
        sock.write(body);
        sentBytes += body.length;
        return;
      }
      const write = (b: Buffer) => {
        sentBytes += b.length;
        return sock.write(b);
      };
      for await (const _ of body(write)) {
        if (closed || settled || sock.destroyed) return;
        if (sock.writableNeedDrain) await new Promise<void>((r) => {
          const done = () => r();
          sock.once("drain", done);
          sock.once("close", done);
        });
      }
    });
  });
}

/** A JSON heartbeat body padded with spaces to exactly `size` bytes. */
function paddedHeartbeat(size: number): Buffer {
  const json = '{"user_count":5}';
  return Buffer.from(json + " ".repeat(size - json.length));
}

function expectError(res: { status: number; body: any }, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.body?.error?.code).toBe(code);
  expect(typeof res.body.error.message).toBe("string");
}

describe("HTTP request bodies", () => {
  const dbUrl = freshDatabaseUrl("body");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;
  let port: number;
  let domain: string;
  let token: string;
  const auth = () => `Authorization: Bearer ${token}`;

  beforeAll(async () => {
    reg = await startRegistrar({ DATABASE_URL: dbUrl, RATE_LIMIT_LIST: "off", RATE_LIMIT_REGISTER: "off", RATE_LIMIT_RATE: "off" });
    c = api(reg.url);
    port = Number(new URL(reg.url).port);
    const s = newServer();
    const created = await c.post("/v1/servers", s);
    expect(created.status).toBe(201);
    domain = s.domain;
    token = created.body.token;
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  describe("invalid_json", () => {
    it("answers 400 invalid_json for bodies that are not parseable JSON", async () => {
      for (const text of ["{", '{"name":"x",}', "nul", "'x'", "{name: 1}", "\uFEFF{}", '{"a":1}{"b":2}', "[1,2"]) {
        const res = await c.post("/v1/servers", text);
        expectError(res, 400, "invalid_json");
        expect(res.body.error.details).toBeUndefined();
      }
    });

    // Regression: body.ts treated a whitespace-only body as "no body" (so a heartbeat of " " was a 200).
    it("answers 400 invalid_json for a body of only whitespace rather than treating it as no body", async () => {
      expectError(await c.post("/v1/servers", "   \n"), 400, "invalid_json");
      expectError(await c.post(`/v1/servers/${domain}/heartbeat`, " ", { token }), 400, "invalid_json");
    });

    // Regression: body.ts decoded with Buffer#toString, which turned invalid bytes into U+FFFD and stored them.
    it("answers 400 invalid_json for a body that is not valid UTF-8 instead of mangling it", async () => {
      const s = newServer();
      const bytes = Buffer.concat([Buffer.from(`{"domain":"${s.domain}","api_url":"${s.api_url}","name":"bad `), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
      const res = await rawRequest(port, ["POST /v1/servers HTTP/1.1", "Host: x", "Content-Type: application/json", `Content-Length: ${bytes.length}`], bytes);
      expectError(res, 400, "invalid_json");
      expect((await c.get(`/v1/servers/${s.domain}`)).status).toBe(404);
    });

    it("answers valid JSON of the wrong shape with validation_failed, never invalid_json", async () => {
      for (const body of ["null", "[]", "42", '"text"', "true"]) {
        expectError(await c.post("/v1/servers", body), 400, "validation_failed");
      }
    });
  });

  describe("content types", () => {
    it("answers 415 unsupported_media_type for a body sent as text/plain or with no content type", async () => {
      const body = JSON.stringify(newServer());
      const plain = await c.post("/v1/servers", body, { headers: { "content-type": "text/plain" } });
      expectError(plain, 415, "unsupported_media_type");
      for (const type of ["application/x-www-form-urlencoded", "application/jsonp", "text/json-ish"]) {
        expectError(await c.post("/v1/servers", body, { headers: { "content-type": type } }), 415, "unsupported_media_type");
      }
      const none = await rawRequest(port, ["POST /v1/servers HTTP/1.1", "Host: x", `Content-Length: ${Buffer.byteLength(body)}`], Buffer.from(body));
      expectError(none, 415, "unsupported_media_type");
      expect((await c.get(`/v1/servers/${JSON.parse(body).domain}`)).status).toBe(404);
    });

    it("accepts application/json with a charset parameter and +json media types", async () => {
      const a = newServer();
      expect((await c.post("/v1/servers", a, { headers: { "content-type": "application/json; charset=utf-8" } })).status).toBe(201);
      const b = newServer();
      expect((await c.post("/v1/servers", b, { headers: { "content-type": "Application/JSON" } })).status).toBe(201);
    });

    it("needs no content type for a request without a body", async () => {
      const hb = await rawRequest(port, [`POST /v1/servers/${domain}/heartbeat HTTP/1.1`, "Host: x", auth(), "Content-Length: 0"], null);
      expect(hb.status).toBe(200);
      const noLength = await rawRequest(port, [`POST /v1/servers/${domain}/heartbeat HTTP/1.1`, "Host: x", auth()], null);
      expect(noLength.status).toBe(200);
      const rot = await rawRequest(port, [`POST /v1/servers/${domain}/token HTTP/1.1`, "Host: x", auth(), "Content-Type: text/plain", "Content-Length: 0"], null);
      expect(rot.status).toBe(200);
      token = rot.body.token;
    });
  });

  describe("the 64 KiB limit", () => {
    it("accepts a body of exactly 65,536 bytes", async () => {
      const body = paddedHeartbeat(LIMIT);
      expect(body.length).toBe(LIMIT);
      const res = await rawRequest(port, [`POST /v1/servers/${domain}/heartbeat HTTP/1.1`, "Host: x", "Content-Type: application/json", auth(), `Content-Length: ${LIMIT}`], body);
      expect(res.status).toBe(200);
      expect((await c.get(`/v1/servers/${domain}`)).body.server.user_count).toBe(5);
    });

    it("answers 413 payload_too_large for a body of 65,537 bytes and changes nothing", async () => {
      await c.post(`/v1/servers/${domain}/heartbeat`, { user_count: 1 }, { token });
      const body = Buffer.from('{"user_count":9}' + " ".repeat(LIMIT + 1 - 16));
      expect(body.length).toBe(LIMIT + 1);
      const res = await rawRequest(port, [`POST /v1/servers/${domain}/heartbeat HTTP/1.1`, "Host: x", "Content-Type: application/json", auth(), `Content-Length: ${LIMIT + 1}`], body);
      expectError(res, 413, "payload_too_large");
      expect(res.headers["x-request-id"]).toBeTruthy();
      expect((await c.get(`/v1/servers/${domain}`)).body.server.user_count).toBe(1);
    });

    it("accepts a chunked body of exactly 65,536 bytes and refuses one byte more with 413", async () => {
      const chunked = (buf: Buffer) => {
        const parts: Buffer[] = [];
        for (let i = 0; i < buf.length; i += 10_000) {
          const part = buf.subarray(i, i + 10_000);
          parts.push(Buffer.from(`${part.length.toString(16)}\r\n`), part, Buffer.from("\r\n"));
        }
        parts.push(Buffer.from("0\r\n\r\n"));
        return Buffer.concat(parts);
      };
      const head = [`POST /v1/servers/${domain}/heartbeat HTTP/1.1`, "Host: x", "Content-Type: application/json", auth(), "Transfer-Encoding: chunked"];
      const ok = await rawRequest(port, head, chunked(paddedHeartbeat(LIMIT)));
      expect(ok.status).toBe(200);
      const tooBig = await rawRequest(port, head, chunked(paddedHeartbeat(LIMIT + 1)));
      expectError(tooBig, 413, "payload_too_large");
    });

    it("answers 413 through fetch too, with the error envelope", async () => {
      const res = await c.post(`/v1/servers/${domain}/heartbeat`, paddedHeartbeat(LIMIT + 1).toString(), { token });
      expectError(res, 413, "payload_too_large");
    });

    for (const mode of ["content-length", "chunked"] as const) {
      it(`cuts off a client streaming 100 MiB (${mode}) early, without buffering it`, async () => {
        global.gc?.();
        const rssBefore = process.memoryUsage().rss;
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]);
        const head = [`POST /v1/servers/${domain}/heartbeat HTTP/1.1`, "Host: x", "Content-Type: application/json", auth()];
        head.push(mode === "chunked" ? "Transfer-Encoding: chunked" : `Content-Length: ${100 * MiB}`);
        let peakRss = rssBefore;
        const res = await rawRequest(port, head, async function* (write) {
          for (let sent = 0; sent < 100 * MiB; sent += chunk.length) {
            write(mode === "chunked" ? framed : chunk);
            peakRss = Math.max(peakRss, process.memoryUsage().rss);
            yield;
          }
        });
        expectError(res, 413, "payload_too_large");
        expect(res.closed).toBe(true);
        expect(res.sentBytes).toBeLessThan(100 * MiB);
        expect(peakRss - rssBefore).toBeLessThan(20 * MiB);
      });
    }
  });

  // Regression: routes without a body (GET, DELETE) never looked at one, so a DELETE with a 100 MiB or text/plain body
  // was carried out although contract §1 refuses such requests (and a rejected request changes nothing).
  describe("routes that take no body", () => {
    const registerOther = async () => {
      const s = newServer();
      const res = await c.post("/v1/servers", s);
      expect(res.status).toBe(201);
      return { domain: s.domain, token: res.body.token as string };
    };

    it("refuses a body over 64 KiB on DELETE with 413 and deletes nothing", async () => {
      const other = await registerOther();
      const body = paddedHeartbeat(LIMIT + 1);
      const head = [`DELETE /v1/servers/${other.domain} HTTP/1.1`, "Host: x", "Content-Type: application/json", `Authorization: Bearer ${other.token}`];
      expectError(await rawRequest(port, [...head, `Content-Length: ${body.length}`], body), 413, "payload_too_large");
      expectError(await rawRequest(port, [...head, "Transfer-Encoding: chunked"], Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from("\r\n0\r\n\r\n")])), 413, "payload_too_large");
      expect((await c.get(`/v1/servers/${other.domain}`)).status).toBe(200);
    });

    it("refuses a non-JSON body on DELETE and GET with 415 and deletes nothing", async () => {
      const other = await registerOther();
      expectError(await c.del(`/v1/servers/${other.domain}`, { token: other.token, body: "please", headers: { "content-type": "text/plain" } }), 415, "unsupported_media_type");
      const get = await rawRequest(port, [`GET /v1/servers/${other.domain} HTTP/1.1`, "Host: x", "Content-Type: text/plain", "Content-Length: 1"], Buffer.from("x"));
      expectError(get, 415, "unsupported_media_type");
      expect((await c.get(`/v1/servers/${other.domain}`)).status).toBe(200);
    });

    it("ignores a JSON body within the limit on routes that take none", async () => {
      const other = await registerOther();
      const getWith = (path: string, body: string) =>
        rawRequest(port, [`GET ${path} HTTP/1.1`, "Host: x", "Content-Type: application/json", `Content-Length: ${body.length}`], Buffer.from(body));
      expect((await getWith(`/v1/servers/${other.domain}`, '{"ignored":true}')).status).toBe(200);
      expect((await getWith("/v1/servers", "[]")).status).toBe(200);
      expect((await c.del(`/v1/servers/${other.domain}`, { token: other.token, body: {} })).status).toBe(204);
    });

    it("cuts off a client streaming 100 MiB to a GET route early", async () => {
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const res = await rawRequest(port, ["GET /v1/health HTTP/1.1", "Host: x", "Content-Type: application/json", "Transfer-Encoding: chunked"], async function* (write) {
        const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]);
        for (let sent = 0; sent < 100 * MiB; sent += chunk.length) {
          write(framed);
          yield;
        }
      });
      expectError(res, 413, "payload_too_large");
      expect(res.sentBytes).toBeLessThan(100 * MiB);
    });
  });
});
