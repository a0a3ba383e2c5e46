// Unit tests for URL field rules (contract §2 api_url, ws_url, icon, voice_url, cdn_url).
import { describe, it, expect } from "vitest";
import { checkUrl, isLoopbackHost, MAX_URL_CHARS } from "../../src/domain/urls.js";

const api = (allowInsecure: boolean) => ({ schemes: ["https:"], mustBeUnder: "example.com", allowInsecure });
const ws = (allowInsecure: boolean) => ({ schemes: ["wss:"], mustBeUnder: "example.com", allowInsecure });
const anyHost = (allowInsecure: boolean) => ({ schemes: ["https:"], allowInsecure });

describe("checkUrl for a URL bound to the server's domain", () => {
  it.each([
    "https://example.com",
    "https://example.com/api",
    "https://api.example.com/v1?x=1#frag",
    "https://a.b.example.com:8443/",
    "HTTPS://EXAMPLE.COM/api",
  ])("accepts %s", (url) => {
    expect(checkUrl(url, api(false))).toBeNull();
  });

  it.each([
    ["a host that only starts with the domain", "https://example.com.attacker.net/api", /host must be example.com/],
    ["a host that only ends with the domain text", "https://evilexample.com/", /host must be/],
    ["a parent of the domain", "https://com/", /host must be/],
    ["an IP address", "https://93.184.216.34/", /host must be/],
    ["credentials", "https://user:pw@example.com/", /credentials/],
    ["a user name only", "https://user@example.com/", /credentials/],
    ["an empty userinfo", "https://@example.com/", /credentials/],
    ["credentials hiding the real host", "https://example.com@attacker.net/", /credentials/],
    ["http", "http://example.com/", /scheme https:/],
    ["wss for an https field", "wss://example.com/", /scheme https:/],
    ["localhost", "https://localhost/", /localhost/],
    ["a loopback address", "https://127.0.0.1/", /loopback/],
    ["a relative URL", "/api", /absolute URL/],
    ["a scheme without slashes", "https:example.com", /absolute URL/],
    ["a backslash", "https://attacker.net\\@example.com/", /backslash/],
    ["whitespace", "https://example.com/a b", /whitespace/],
    ["a leading space", " https://example.com/", /whitespace/],
    ["a newline", "https://example.com/\n", /whitespace/],
    ["a trailing-dot host", "https://example.com./", /host must be/],
    ["garbage", "not a url", /whitespace|absolute/],
  ])("rejects %s", (_what, url, message) => {
    expect(checkUrl(url, api(false))).toMatch(message);
  });

  it("compares the host after WHATWG parsing, so an IDN host matches its punycode domain", () => {
    const rules = { schemes: ["https:"], mustBeUnder: "xn--bcher-kva.example", allowInsecure: false };
    expect(checkUrl("https://api.Bücher.example/", rules)).toBeNull();
    expect(checkUrl("https://bucher.example/", rules)).toMatch(/host must be/);
  });

  it("requires wss: for a WebSocket URL and accepts the scheme written without a colon", () => {
    expect(checkUrl("wss://ws.example.com/ws", ws(false))).toBeNull();
    expect(checkUrl("wss://ws.example.com/ws", { schemes: ["wss"], allowInsecure: false })).toBeNull();
    expect(checkUrl("https://example.com/ws", ws(false))).toMatch(/scheme wss:/);
    expect(checkUrl("ws://example.com/ws", ws(false))).toMatch(/scheme wss:/);
  });
});

describe("checkUrl with ALLOW_INSECURE_URLS", () => {
  it.each([
    ["http on the domain", "http://example.com/api", api(true)],
    ["localhost for any domain", "http://localhost:3000/api", api(true)],
    ["a localhost subdomain", "https://chat.localhost/api", api(true)],
    ["127.0.0.0/8", "http://127.1.2.3:8080/", api(true)],
    ["IPv6 loopback", "http://[::1]:8080/", api(true)],
    ["ws on the domain", "ws://example.com/ws", ws(true)],
    ["ws on localhost", "ws://localhost:3000/ws", ws(true)],
    ["http on any host for an any-host field", "http://cdn.example.net/", anyHost(true)],
  ])("accepts %s", (_what, url, rules) => {
    expect(checkUrl(url, rules)).toBeNull();
  });

  it.each([
    ["a foreign host", "http://attacker.net/", api(true), /host must be/],
    ["a private non-loopback address", "http://192.168.1.10/", api(true), /host must be/],
    ["credentials", "http://u:p@localhost/", api(true), /credentials/],
    ["an unrelated scheme", "ftp://example.com/", api(true), /scheme https: or http:/],
    ["http for a wss field", "http://example.com/ws", ws(true), /scheme wss: or ws:/],
  ])("still rejects %s", (_what, url, rules, message) => {
    expect(checkUrl(url, rules)).toMatch(message);
  });
});

describe("checkUrl for an any-host URL", () => {
  it("accepts https on any host", () => {
    expect(checkUrl("https://voice.example.net/room", anyHost(false))).toBeNull();
  });

  it.each([
    ["http", "http://cdn.example.net/", /scheme https:/],
    ["localhost", "https://localhost/icon.png", /localhost/],
    ["IPv6 loopback", "https://[::1]/icon.png", /loopback/],
    ["credentials", "https://a:b@cdn.example.net/", /credentials/],
  ])("rejects %s without ALLOW_INSECURE_URLS", (_what, url, message) => {
    expect(checkUrl(url, anyHost(false))).toMatch(message);
  });

  it("accepts exactly 2048 characters and rejects 2049", () => {
    const base = "https://cdn.example.net/";
    const url2048 = base + "a".repeat(MAX_URL_CHARS - base.length);
    expect(checkUrl(url2048, anyHost(false))).toBeNull();
    expect(checkUrl(`${url2048}a`, anyHost(false))).toMatch(/at most 2048/);
  });
});

describe("isLoopbackHost", () => {
  it.each([
    ["localhost", true],
    ["app.localhost", true],
    ["127.0.0.1", true],
    ["127.255.255.254", true],
    ["[::1]", true],
    [new URL("http://[::ffff:127.0.0.1]/").hostname, true],
    [new URL("http://0x7f.1/").hostname, true],
    ["128.0.0.1", false],
    ["localhost.example.com", false],
    ["[::2]", false],
  ])("says %s is %s", (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});
