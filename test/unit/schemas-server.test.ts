// Unit tests for the registration and update body schemas (contract §2 field rules).
import { describe, it, expect } from "vitest";
import { z } from "zod";
import { makeServerSchemas, zodIssuesToDetails } from "../../src/domain/schemas.js";

const { RegisterServer, UpdateServer } = makeServerSchemas({ allowInsecureUrls: false });
const insecure = makeServerSchemas({ allowInsecureUrls: true });
const minimal = { domain: "chat.example.com", name: "Example Chat", api_url: "https://chat.example.com/api" };

function problems(result: z.ZodSafeParseResult<unknown>) {
  return result.success ? [] : zodIssuesToDetails(result.error);
}
function pathsOf(result: z.ZodSafeParseResult<unknown>) {
  return problems(result).map((d) => d.path);
}

describe("RegisterServer", () => {
  it("accepts a full record and normalises the domain and the name", () => {
    const result = RegisterServer.parse({
      ...minimal,
      domain: "Chat.Example.COM",
      name: "  Example Chat\t",
      description: "A friendly place\nwith two lines",
      icon: "https://chat.example.com/icon.png",
      ws_url: "wss://chat.example.com/ws",
      voice_url: "https://voice.example.net",
      voice_provider: "mediasoup",
      cdn_url: "https://cdn.example.net",
      protocols: ["zent/1"],
      capabilities: ["voice", "federation"],
      version: "1.4.2",
    });
    expect(result.domain).toBe("chat.example.com");
    expect(result.name).toBe("Example Chat");
    expect(result.capabilities).toEqual(["voice", "federation"]);
  });

  it("converts an IDN domain to punycode and checks api_url against it", () => {
    const result = RegisterServer.parse({ ...minimal, domain: "Bücher.example", api_url: "https://api.bücher.example/" });
    expect(result.domain).toBe("xn--bcher-kva.example");
  });

  it.each([
    ["domain", { domain: undefined }],
    ["name", { name: undefined }],
    ["api_url", { api_url: undefined }],
  ])("requires %s", (field, patch) => {
    expect(pathsOf(RegisterServer.safeParse({ ...minimal, ...patch }))).toEqual([field]);
  });

  it.each([
    ["domain", { domain: "example.com." }],
    ["domain", { domain: "10.0.0.1" }],
    ["domain", { domain: "localhost" }],
    ["name", { name: "   " }],
    ["name", { name: "x".repeat(101) }],
    ["name", { name: "bell\u0007" }],
    ["name", { name: "c1\u0085control" }],
    ["name", { name: "del\u007f" }],
    ["description", { description: "x".repeat(1001) }],
    ["description", { description: "nul\u0000" }],
    ["api_url", { api_url: "https://chat.example.com.attacker.net/api" }],
    ["api_url", { api_url: "http://chat.example.com/api" }],
    ["api_url", { api_url: "https://user:pw@chat.example.com/api" }],
    ["api_url", { api_url: "https://localhost/api" }],
    ["ws_url", { ws_url: "wss://other.example.org/ws" }],
    ["ws_url", { ws_url: "https://chat.example.com/ws" }],
    ["icon", { icon: "http://cdn.example.net/icon.png" }],
    ["voice_url", { voice_url: "https://u:p@voice.example.net" }],
    ["cdn_url", { cdn_url: `https://cdn.example.net/${"a".repeat(2048)}` }],
    ["voice_provider", { voice_provider: "x".repeat(51) }],
    ["version", { version: "x".repeat(33) }],
    ["protocols", { protocols: Array.from({ length: 17 }, (_, i) => `p${i}`) }],
    ["protocols.1", { protocols: ["zent/1", "zent/1"] }],
    ["protocols.0", { protocols: ["Zent/1"] }],
    ["protocols.0", { protocols: [""] }],
    ["capabilities.0", { capabilities: ["x".repeat(33)] }],
    ["capabilities", { capabilities: Array.from({ length: 33 }, (_, i) => `c${i}`) }],
    ["capabilities", { capabilities: "voice" }],
  ])("rejects a bad %s", (path, patch) => {
    expect(pathsOf(RegisterServer.safeParse({ ...minimal, ...patch }))).toEqual([path]);
  });

  it("accepts the length limits exactly, counting an emoji as one character", () => {
    const result = RegisterServer.safeParse({
      ...minimal,
      name: "😀".repeat(100),
      description: "d".repeat(1000),
      voice_provider: "v".repeat(50),
      version: "1".repeat(32),
      protocols: Array.from({ length: 16 }, (_, i) => `p${i}`),
      capabilities: Array.from({ length: 32 }, (_, i) => `c${i}`),
    });
    expect(problems(result)).toEqual([]);
  });

  it.each(["user_count", "channel_count", "verified", "status", "last_seen", "created_at", "origin", "rating", "token"])(
    "refuses the server-owned field %s with a clear message",
    (field) => {
      const details = problems(RegisterServer.safeParse({ ...minimal, [field]: field === "verified" ? true : 1 }));
      expect(details).toEqual([{ path: field, message: expect.stringMatching(/^server-owned field/) }]);
    },
  );

  it("refuses server-owned fields even when null", () => {
    expect(pathsOf(RegisterServer.safeParse({ ...minimal, status: null }))).toEqual(["status"]);
  });

  it("reports each unknown field at its own path", () => {
    const details = problems(RegisterServer.safeParse({ ...minimal, foo: 1, bar: { x: 1 } }));
    expect(details).toEqual([
      { path: "foo", message: "unknown field" },
      { path: "bar", message: "unknown field" },
    ]);
  });

  it("lists every problem of a body at once", () => {
    const result = RegisterServer.safeParse({ domain: "bad..domain", name: 7, api_url: "ftp://x", verified: true, x: 1 });
    expect(pathsOf(result).sort()).toEqual(["api_url", "domain", "name", "verified", "x"]);
  });

  it.each([null, [], "text", 42])("rejects a body that is not an object: %j", (body) => {
    expect(pathsOf(RegisterServer.safeParse(body))).toEqual([""]);
  });

  it("never returns server-owned keys in its output", () => {
    expect(Object.keys(RegisterServer.parse(minimal)).sort()).toEqual(["api_url", "domain", "name"]);
  });

  it("accepts http and localhost URLs only with ALLOW_INSECURE_URLS", () => {
    const body = { ...minimal, api_url: "http://localhost:3000/api", ws_url: "ws://127.0.0.1:3000/ws" };
    expect(pathsOf(RegisterServer.safeParse(body))).toEqual(["api_url", "ws_url"]);
    expect(problems(insecure.RegisterServer.safeParse(body))).toEqual([]);
    const foreign = { ...minimal, api_url: "http://attacker.net/api" };
    expect(pathsOf(insecure.RegisterServer.safeParse(foreign))).toEqual(["api_url"]);
  });
});

describe("UpdateServer", () => {
  const update = UpdateServer("chat.example.com");

  it("accepts any subset of the mutable fields", () => {
    expect(update.parse({ name: " New name " })).toEqual({ name: "New name" });
    expect(update.parse({ api_url: "https://api.chat.example.com/" })).toEqual({ api_url: "https://api.chat.example.com/" });
  });

  it("accepts null to clear an optional field", () => {
    const body = { description: null, icon: null, ws_url: null, voice_url: null, voice_provider: null, cdn_url: null, version: null };
    expect(update.parse(body)).toEqual(body);
  });

  it.each(["name", "api_url", "protocols", "capabilities"])("refuses null for %s", (field) => {
    expect(pathsOf(update.safeParse({ [field]: null }))).toEqual([field]);
  });

  it("accepts the same domain in any spelling", () => {
    expect(update.parse({ domain: "CHAT.example.com", name: "x" })).toEqual({ domain: "chat.example.com", name: "x" });
  });

  it("refuses a different domain", () => {
    const details = problems(update.safeParse({ domain: "other.example.com", name: "x" }));
    expect(details).toEqual([{ path: "domain", message: "domain cannot be changed" }]);
  });

  it.each([{}, { domain: "chat.example.com" }])("requires at least one field besides domain: %j", (body) => {
    expect(pathsOf(update.safeParse(body))).toEqual([""]);
  });

  it("checks api_url and ws_url against the path domain", () => {
    expect(pathsOf(update.safeParse({ api_url: "https://chat.example.com.attacker.net/" }))).toEqual(["api_url"]);
    expect(pathsOf(update.safeParse({ ws_url: "wss://example.com/ws" }))).toEqual(["ws_url"]);
    expect(pathsOf(UpdateServer("Bücher.example").safeParse({ api_url: "https://xn--bcher-kva.example/" }))).toEqual([]);
  });

  it("refuses server-owned and unknown fields with their paths", () => {
    const details = problems(update.safeParse({ name: "x", user_count: 3, rating: 5, nope: true }));
    expect(details.map((d) => d.path).sort()).toEqual(["nope", "rating", "user_count"]);
    expect(details.find((d) => d.path === "user_count")?.message).toMatch(/heartbeats/);
  });

  it("reports a changed domain together with the other problems", () => {
    const result = update.safeParse({ domain: "evil.example.org", api_url: "https://evil.example.org/", name: "" });
    expect(pathsOf(result).sort()).toEqual(["api_url", "domain", "name"]);
  });

  it("reports problems under the caller's path when nested", () => {
    const result = z.object({ body: update }).safeParse({ body: { name: 5 } });
    expect(pathsOf(result)).toEqual(["body.name"]);
  });
});
