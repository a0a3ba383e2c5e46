// Per-connection inbound rules shared by /v1/ws/server and /v1/feed: rate window, 16 KiB limit, JSON, known ops.
import { describe, expect, it } from "vitest";
import { CloseCode, CloseError, closeCodeForError, closeReason } from "../../src/ws/close-codes.js";
import { decodeMessage, newConnectionState } from "../../src/ws/connection.js";
import { TokenExpiredError, UnauthorizedError, NotOwnerError, UnavailableError } from "../../src/core/errors.js";

const OPS = ["identify", "heartbeat"] as const;
const limits = { maxMessageBytes: 16 * 1024, rate: { limit: 3, windowS: 10 } };
const bytes = (text: string) => new TextEncoder().encode(text).buffer as ArrayBuffer;

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as CloseError).code;
  }
}

describe("decodeMessage", () => {
  it("returns the op and the object of a valid message", () => {
    const conn = newConnectionState();
    expect(decodeMessage(conn, bytes('{"op":"heartbeat","seq":1}'), false, limits, OPS, 0)).toEqual({ op: "heartbeat", value: { op: "heartbeat", seq: 1 } });
  });

  it.each([
    ["not JSON", "nope"],
    ["a JSON string", '"heartbeat"'],
    ["null", "null"],
    ["an array", "[]"],
    ["no op", '{"seq":1}'],
    ["a numeric op", '{"op":1}'],
    ["an unknown op", '{"op":"subscribe"}'],
  ])("refuses %s with 4000", (_what, text) => {
    expect(codeOf(() => decodeMessage(newConnectionState(), bytes(text), false, limits, OPS, 0))).toBe(CloseCode.invalidMessage);
  });

  it("refuses binary frames and invalid UTF-8 with 4000", () => {
    expect(codeOf(() => decodeMessage(newConnectionState(), bytes('{"op":"heartbeat"}'), true, limits, OPS, 0))).toBe(4000);
    const bad = new Uint8Array([0x7b, 0xff, 0x7d]).buffer;
    expect(codeOf(() => decodeMessage(newConnectionState(), bad, false, limits, OPS, 0))).toBe(4000);
  });

  it("accepts exactly 16 KiB and refuses one byte more with 4000", () => {
    const exact = '{"op":"heartbeat"}'.padEnd(16 * 1024, " ");
    expect(decodeMessage(newConnectionState(), bytes(exact), false, limits, OPS, 0).op).toBe("heartbeat");
    expect(codeOf(() => decodeMessage(newConnectionState(), bytes(exact + " "), false, limits, OPS, 0))).toBe(4000);
  });

  it("counts every message against the rate limit in fixed windows per connection, then closes with 4008", () => {
    const conn = newConnectionState();
    const msg = bytes('{"op":"heartbeat"}');
    for (let i = 0; i < 3; i++) decodeMessage(conn, msg, false, limits, OPS, 1000 + i);
    expect(codeOf(() => decodeMessage(conn, msg, false, limits, OPS, 1500))).toBe(CloseCode.rateLimited);
    // Invalid messages count too: the limit protects the registrar, whatever the content.
    const other = newConnectionState();
    for (let i = 0; i < 3; i++) codeOf(() => decodeMessage(other, bytes("x"), false, limits, OPS, 0));
    expect(codeOf(() => decodeMessage(other, msg, false, limits, OPS, 1))).toBe(4008);
  });

  it("starts a new window once the old one is over", () => {
    const conn = newConnectionState();
    const msg = bytes('{"op":"heartbeat"}');
    for (let i = 0; i < 3; i++) decodeMessage(conn, msg, false, limits, OPS, 1000);
    expect(decodeMessage(conn, msg, false, limits, OPS, 11_000).op).toBe("heartbeat");
  });

  it("has no rate limit when WS_RATE_LIMIT is off", () => {
    const conn = newConnectionState();
    for (let i = 0; i < 1000; i++) decodeMessage(conn, bytes('{"op":"heartbeat"}'), false, { ...limits, rate: null }, OPS, 0);
  });
});

describe("close codes", () => {
  it("maps every contract close code to a distinct number", () => {
    const codes = Object.values(CloseCode);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes.sort()).toEqual([1000, 1008, 1011, 1012, 1013, 4000, 4001, 4002, 4003, 4004, 4008, 4009, 4010]);
  });

  it.each([
    [new UnauthorizedError("x"), 4001],
    [new TokenExpiredError("x"), 4001],
    [new NotOwnerError("x"), 4001],
    [{ code: "unauthorized", message: "from another node" }, 4001],
    [new CloseError(CloseCode.alreadyIdentified, "twice"), 4004],
    [new UnavailableError("no owner right now"), 1013],
    [new RangeError("bug"), null],
    [new Error("bug"), null],
  ])("maps %o to %s", (err, code) => {
    expect(closeCodeForError(err)).toBe(code);
  });

  it("clips close reasons to 123 bytes without splitting a character", () => {
    expect(closeReason("short")).toBe("short");
    const clipped = closeReason("é".repeat(100));
    expect(Buffer.byteLength(clipped)).toBeLessThanOrEqual(123);
    expect(clipped).toBe("é".repeat(61));
  });
});
