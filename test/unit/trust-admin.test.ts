// The operator's token check and the `npm run admin` command table (contract §8.5); the re-check rule (§8.1).
import { describe, expect, it } from "vitest";
import { AdminAuth } from "../../src/trust/admin-auth.js";
import { ADMIN_USAGE, requestFor, runAdmin } from "../../src/trust/admin-cli.js";
import { decideRecheck } from "../../src/trust/recheck-policy.js";

const TOKEN = "0123456789abcdef".repeat(4);

describe("AdminAuth", () => {
  it("is disabled without a token and then allows nothing", () => {
    const off = new AdminAuth(undefined);
    expect(off.enabled).toBe(false);
    expect(off.allows(TOKEN)).toBe(false);
    expect(off.allows("")).toBe(false);
  });

  it("allows exactly the token (hex case-insensitive)", () => {
    const auth = new AdminAuth(TOKEN);
    expect(auth.enabled).toBe(true);
    expect(auth.allows(TOKEN)).toBe(true);
    expect(auth.allows(TOKEN.toUpperCase())).toBe(true);
    expect(auth.allows(TOKEN.slice(0, 63))).toBe(false);
    expect(auth.allows(`${TOKEN}0`)).toBe(false);
    expect(auth.allows(null)).toBe(false);
    expect(auth.allows("")).toBe(false);
  });
});

describe("admin command line", () => {
  it.each([
    [["verify", "chat.example.com"], { method: "PUT", path: "/v1/admin/servers/chat.example.com/verified", body: { verified: true } }],
    [["unverify", "chat.example.com"], { method: "PUT", path: "/v1/admin/servers/chat.example.com/verified", body: { verified: false } }],
    [["reissue-token", "chat.example.com"], { method: "POST", path: "/v1/admin/servers/chat.example.com/token" }],
    [["remove", "chat.example.com"], { method: "DELETE", path: "/v1/admin/servers/chat.example.com", body: undefined }],
    [["remove", "chat.example.com", "--reason", "spam"], { method: "DELETE", path: "/v1/admin/servers/chat.example.com", body: { reason: "spam" } }],
    [["ban", "chat.example.com", "--reason", "phishing"], { method: "PUT", path: "/v1/admin/bans/chat.example.com", body: { reason: "phishing" } }],
    [["unban", "chat.example.com"], { method: "DELETE", path: "/v1/admin/bans/chat.example.com" }],
    [["bans"], { method: "GET", path: "/v1/admin/bans" }],
    [["remove-rating", "chat.example.com", "alice@home.example.net"], { method: "DELETE", path: "/v1/admin/servers/chat.example.com/ratings/alice%40home.example.net" }],
    [["audit"], { method: "GET", path: "/v1/admin/audit" }],
    [["audit", "--domain", "chat.example.com", "--limit", "5", "--before", "99"], { method: "GET", path: "/v1/admin/audit?domain=chat.example.com&limit=5&before=99" }],
  ])("%j → the matching route", (argv, expected) => {
    expect(requestFor(argv[0], argv.slice(1))).toEqual(expected);
  });

  it.each([
    [["verify"]], [["verify", "a.com", "b.com"]], [["ban", "a.com"]], [["ban", "a.com", "--reason"]], [["remove", "a.com", "--force", "x"]],
    [["remove-rating", "a.com"]], [["bans", "x"]], [["frobnicate"]],
  ])("refuses %j as a usage error (exit 2) without calling the registrar", async (argv) => {
    const err: string[] = [];
    let called = false;
    const code = await runAdmin(argv, { ADMIN_TOKEN: TOKEN }, { out: () => undefined, err: (l) => err.push(l), fetch: (async () => { called = true; }) as never });
    expect(code).toBe(2);
    expect(called).toBe(false);
    expect(err.join("\n")).toContain("Usage: npm run admin");
  });

  it("prints help on --help (exit 0) and needs ADMIN_TOKEN", async () => {
    const out: string[] = [];
    expect(await runAdmin(["--help"], {}, { out: (l) => out.push(l), err: () => undefined })).toBe(0);
    expect(out[0]).toBe(ADMIN_USAGE);
    const err: string[] = [];
    expect(await runAdmin(["bans"], { ADMIN_TOKEN: "secret-but-wrong" }, { out: () => undefined, err: (l) => err.push(l) })).toBe(2);
    expect(err[0]).toMatch(/set ADMIN_TOKEN/);
    expect(err[0]).not.toContain("secret-but-wrong");
  });

  it("sends the token and body, prints the JSON answer, and exits 1 on a refusal", async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    const fake = (status: number, body: string) => (async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return new Response(body || null, { status });
    }) as unknown as typeof fetch;
    const out: string[] = [];
    const env = { ADMIN_TOKEN: TOKEN, REGISTRAR_URL: "http://reg.test:5000/" };
    expect(await runAdmin(["ban", "a.example.com", "--reason", "spam"], env, { out: (l) => out.push(l), err: () => undefined, fetch: fake(200, '{"ban":1}') })).toBe(0);
    expect(calls[0].url).toBe("http://reg.test:5000/v1/admin/bans/a.example.com");
    expect(calls[0].init).toMatchObject({ method: "PUT", body: '{"reason":"spam"}', headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" } });
    expect(JSON.parse(out[0])).toEqual({ ban: 1 });
    expect(await runAdmin(["unban", "a.example.com"], env, { out: (l) => out.push(l), err: () => undefined, fetch: fake(204, "") })).toBe(0);
    expect(JSON.parse(out[1])).toEqual({ ok: true, status: 204 });
    const err: string[] = [];
    expect(await runAdmin(["unban", "a.example.com"], env, { out: () => undefined, err: (l) => err.push(l), fetch: fake(404, '{"error":{"code":"not_found"}}') })).toBe(1);
    expect(err[0]).toMatch(/^admin: HTTP 404: .*not_found.*ADMIN_TOKEN is not set/);
  });
});

describe("decideRecheck", () => {
  const t = { recheckIntervalMs: 1000, graceMs: 3000 };
  it("schedules a full interval after a success and forgets earlier failures", () => {
    expect(decideRecheck({ firstFailureAtMs: 50 }, true, 100, t)).toEqual({ firstFailureAtMs: null, lapsed: false, nextCheckAtMs: 1100 });
  });
  it("starts the grace at the first failure and checks again just after it ends", () => {
    expect(decideRecheck({ firstFailureAtMs: null }, false, 100, t)).toEqual({ firstFailureAtMs: 100, lapsed: false, nextCheckAtMs: 1100 });
    expect(decideRecheck({ firstFailureAtMs: 100 }, false, 2500, t)).toEqual({ firstFailureAtMs: 100, lapsed: false, nextCheckAtMs: 3101 });
    expect(decideRecheck({ firstFailureAtMs: 100 }, false, 3100, t)).toMatchObject({ lapsed: false });
    expect(decideRecheck({ firstFailureAtMs: 100 }, false, 3101, t)).toMatchObject({ lapsed: true });
  });
  it("with no grace, lapses at the second failed check", () => {
    const now = { recheckIntervalMs: 1000, graceMs: 0 };
    const first = decideRecheck({ firstFailureAtMs: null }, false, 100, now);
    expect(first).toEqual({ firstFailureAtMs: 100, lapsed: false, nextCheckAtMs: 101 });
    expect(decideRecheck(first, false, 101, now).lapsed).toBe(true);
  });
});
