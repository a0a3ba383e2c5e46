// Unit tests for the heartbeat and rating bodies and for the error-details mapping.
import { describe, it, expect } from "vitest";
import { z } from "zod";
import { Heartbeat, MAX_COUNT, RateServer, zodIssuesToDetails } from "../../src/domain/schemas.js";

function pathsOf(result: z.ZodSafeParseResult<unknown>) {
  return result.success ? [] : zodIssuesToDetails(result.error).map((d) => d.path);
}

describe("Heartbeat", () => {
  it.each([{}, { user_count: 0, channel_count: MAX_COUNT, version: "1.2.3" }, { version: "v".repeat(32) }])(
    "accepts %j",
    (body) => {
      expect(Heartbeat.parse(body)).toEqual(body);
    },
  );

  it.each([
    ["user_count", { user_count: -1 }],
    ["user_count", { user_count: MAX_COUNT + 1 }],
    ["user_count", { user_count: 1.5 }],
    ["user_count", { user_count: "5" }],
    ["channel_count", { channel_count: null }],
    ["version", { version: "v".repeat(33) }],
    ["status", { status: "online" }],
  ])("rejects a bad %s: %j", (path, body) => {
    expect(pathsOf(Heartbeat.safeParse(body))).toEqual([path]);
  });
});

describe("RateServer", () => {
  it("accepts a rating with and without a comment", () => {
    expect(RateServer.parse({ user_id: "u1", rating: 5 })).toEqual({ user_id: "u1", rating: 5 });
    expect(RateServer.parse({ user_id: "u".repeat(128), rating: 1, comment: "line 1\nline 2" })).toMatchObject({ rating: 1 });
    expect(RateServer.parse({ user_id: "u1", rating: 3, comment: null }).comment).toBeNull();
    expect(RateServer.parse({ user_id: "u1", rating: 3, comment: "c".repeat(500) }).comment).toHaveLength(500);
  });

  it.each([
    ["user_id", { user_id: "", rating: 3 }],
    ["user_id", { user_id: "u".repeat(129), rating: 3 }],
    ["user_id", { user_id: "tab\there", rating: 3 }],
    ["user_id", { user_id: 12, rating: 3 }],
    ["user_id", { rating: 3 }],
    ["rating", { user_id: "u1", rating: 0 }],
    ["rating", { user_id: "u1", rating: 6 }],
    ["rating", { user_id: "u1", rating: 4.5 }],
    ["rating", { user_id: "u1", rating: "5" }],
    ["rating", { user_id: "u1" }],
    ["comment", { user_id: "u1", rating: 3, comment: "c".repeat(501) }],
    ["comment", { user_id: "u1", rating: 3, comment: "esc\u001b[31m" }],
    ["extra", { user_id: "u1", rating: 3, extra: 1 }],
  ])("rejects a bad %s: %j", (path, body) => {
    expect(pathsOf(RateServer.safeParse(body))).toEqual([path]);
  });
});

describe("zodIssuesToDetails", () => {
  it("joins nested paths with dots and uses an empty string for the root", () => {
    const schema = z.strictObject({ a: z.object({ b: z.array(z.string()) }) });
    expect(zodIssuesToDetails(schema.safeParse({ a: { b: ["x", 1] } }).error!)).toEqual([
      { path: "a.b.1", message: expect.any(String) },
    ]);
    expect(zodIssuesToDetails(schema.safeParse("nope").error!)).toEqual([{ path: "", message: expect.any(String) }]);
  });

  it("gives every unknown key its own entry, nested ones under their parent", () => {
    const schema = z.strictObject({ a: z.strictObject({}) });
    expect(zodIssuesToDetails(schema.safeParse({ a: { x: 1 }, y: 2, z: 3 }).error!)).toEqual([
      { path: "a.x", message: "unknown field" },
      { path: "y", message: "unknown field" },
      { path: "z", message: "unknown field" },
    ]);
  });
});
