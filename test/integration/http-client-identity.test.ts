// Contract §10 over real HTTP: IPv6 clients limited by their /64, every X-Forwarded-For line counted (security
// review M1, M2), CLIENT_IP_HEADER honoured from trusted proxies only.
import { connect as tcpConnect } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { dropDatabase, freshDatabaseUrl } from "../support/db.js";
import { api, newServer } from "../support/http.js";
import { startRegistrar, type InProcessRegistrar } from "../support/registrar.js";

/** Windows are aligned to the wall clock: start well inside an hour-long one so no count straddles a boundary. */
async function awayFromWindowEdge(windowS = 3600, marginMs = 20_000) {
  const windowMs = windowS * 1000;
  const left = windowMs - (Date.now() % windowMs);
  if (left > marginMs) return;
  const boundary = Date.now() + left;
  await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(boundary), { timeout: marginMs + 5000, interval: 100 });
}

/**
 * One GET with headers written as given, repeated names included (fetch would fold them into one line), on its
 * own connection; resolves with the status code.
 */
function rawGet(url: string, path: string, headers: [string, string][]): Promise<number> {
  const { hostname, port } = new URL(url);
  const head = [`GET ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, ...headers.map(([k, v]) => `${k}: ${v}`), "Connection: close", "", ""].join("\r\n");
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(Number(port), hostname, () => socket.write(head));
    let text = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk) => (text += chunk));
    socket.on("error", reject);
    socket.on("close", () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (status) resolve(Number(status[1]));
      else reject(new Error(`no status line in ${JSON.stringify(text.slice(0, 80))}`));
    });
  });
}

const ipOf = (reg: InProcessRegistrar, requestId: string) => reg.logs.find((l) => l.req_id === requestId)?.ip;

describe("client identity behind a trusted proxy", () => {
  const dbUrl = freshDatabaseUrl("clientid");
  let reg: InProcessRegistrar;
  let c: ReturnType<typeof api>;

  beforeAll(async () => {
    await awayFromWindowEdge();
    reg = await startRegistrar({ DATABASE_URL: dbUrl, TRUSTED_PROXIES: "127.0.0.1/32", RATE_LIMIT_REGISTER: "2/3600", RATE_LIMIT_LIST: "3/3600" });
    c = api(reg.url);
  });
  afterAll(async () => {
    await reg?.stop();
    await dropDatabase(dbUrl);
  });

  it("limits IPv6 clients by their /64: rotating addresses inside one /64 buys nothing, another /64 is another client", async () => {
    const registerFrom = (ip: string) => c.post("/v1/servers", newServer(), { headers: { "x-forwarded-for": ip } });
    expect((await registerFrom("2001:db8:1:2::1")).status).toBe(201);
    expect((await registerFrom("2001:db8:1:2:aaaa:bbbb:cccc:dddd")).status).toBe(201);
    for (const ip of ["2001:db8:1:2::3", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:0db8:0001:0002::9"]) {
      const refused = await registerFrom(ip);
      expect(refused.status).toBe(429);
      expect(refused.body.error.code).toBe("rate_limited");
    }
    expect((await registerFrom("2001:db8:1:3::1")).status).toBe(201);
    // The logs and the audit trail keep the full address; only the limit groups by /64.
    await c.get("/v1/health", { headers: { "x-forwarded-for": "2001:db8:1:2::77", "x-request-id": "v6-log" } });
    expect(ipOf(reg, "v6-log")).toBe("2001:db8:1:2::77");
  });

  it("reads every X-Forwarded-For line: a second line, added by the proxy, is not hidden by the client's own first line", async () => {
    // HAProxy's `option forwardfor` adds a line; the client's forged line comes first.
    const statuses: number[] = [];
    for (let i = 1; i <= 5; i++) {
      statuses.push(await rawGet(reg.url, "/v1/servers?limit=1", [["X-Forwarded-For", `198.51.100.${i}`], ["X-Forwarded-For", "203.0.113.9"], ["X-Request-Id", `xff-lines-${i}`]]));
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(ipOf(reg, "xff-lines-1")).toBe("203.0.113.9");
    // Lines are one list in order: "a" then "b, 127.0.0.1" is a, b, 127.0.0.1; the trusted hop is skipped.
    await rawGet(reg.url, "/v1/health", [["X-Forwarded-For", "192.0.2.1"], ["X-Forwarded-For", "192.0.2.2, 127.0.0.1"], ["X-Request-Id", "xff-joined"]]);
    expect(ipOf(reg, "xff-joined")).toBe("192.0.2.2");
  });
});

describe("CLIENT_IP_HEADER", () => {
  const dbUrl = freshDatabaseUrl("clientiphdr");
  let trusted: InProcessRegistrar;
  let untrusted: InProcessRegistrar;

  beforeAll(async () => {
    trusted = await startRegistrar({ DATABASE_URL: dbUrl, TRUSTED_PROXIES: "127.0.0.1", CLIENT_IP_HEADER: "CF-Connecting-IP" });
    untrusted = await startRegistrar({ DATABASE_URL: dbUrl, TRUSTED_PROXIES: "10.0.0.0/8", CLIENT_IP_HEADER: "cf-connecting-ip" });
  });
  afterAll(async () => {
    await trusted?.stop();
    await untrusted?.stop();
    await dropDatabase(dbUrl);
  });

  it("takes the client from the named header of a trusted proxy, instead of X-Forwarded-For", async () => {
    await api(trusted.url).get("/v1/health", { headers: { "cf-connecting-ip": "198.51.100.77", "x-forwarded-for": "192.0.2.5", "x-request-id": "cf-1" } });
    expect(ipOf(trusted, "cf-1")).toBe("198.51.100.77");
    await api(trusted.url).get("/v1/health", { headers: { "cf-connecting-ip": "2001:DB8::0:1", "x-request-id": "cf-2" } });
    expect(ipOf(trusted, "cf-2")).toBe("2001:db8::1");
    // Without the header the proxy itself is the client; X-Forwarded-For is not read in its place.
    await api(trusted.url).get("/v1/health", { headers: { "x-forwarded-for": "192.0.2.5", "x-request-id": "cf-3" } });
    expect(ipOf(trusted, "cf-3")).toBe("127.0.0.1");
    // Garbage in the header is no client: the proxy stands in.
    await api(trusted.url).get("/v1/health", { headers: { "cf-connecting-ip": "not-an-ip", "x-request-id": "cf-4" } });
    expect(ipOf(trusted, "cf-4")).toBe("127.0.0.1");
  });

  it("ignores the header from a peer that is not a trusted proxy", async () => {
    await api(untrusted.url).get("/v1/health", { headers: { "cf-connecting-ip": "198.51.100.77", "x-request-id": "cf-untrusted" } });
    expect(ipOf(untrusted, "cf-untrusted")).toBe("127.0.0.1");
  });

  it("refuses a value that is no header name at start-up", async () => {
    await expect(startRegistrar({ DATABASE_URL: dbUrl, CLIENT_IP_HEADER: "cf connecting ip" })).rejects.toThrow(/CLIENT_IP_HEADER/);
  });
});
