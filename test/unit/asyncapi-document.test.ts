// docs/asyncapi.json is what the generator makes of the zod message schemas today, it describes both channels and
// every close code, and the frame check the WebSocket tests use tells described frames from others.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CloseCode } from "../../src/ws/close-codes.js";
import { asyncApiDocument } from "../../src/ws/asyncapi.js";
import { eventFrame, feedHelloFrame, heartbeatAckFrame, readyFrame, resetFrame, sessionHelloFrame } from "../../src/ws/frames.js";
import { frameProblem } from "../support/asyncapi-check.js";
import { ROOT } from "../support/paths.js";

const shipped = JSON.parse(readFileSync(`${ROOT}/docs/asyncapi.json`, "utf8"));
const version = JSON.parse(readFileSync(`${ROOT}/package.json`, "utf8")).version;

describe("docs/asyncapi.json", () => {
  it("is current (else run `npm run docs:asyncapi`)", () => {
    expect(shipped).toEqual(asyncApiDocument(version));
  });

  it("describes both channels, the messages each way and every close code", () => {
    expect(shipped.asyncapi).toBe("3.0.0");
    expect(shipped.channels.session.address).toBe("/v1/ws/server");
    expect(shipped.channels.feed.address).toBe("/v1/feed");
    const names = (op: string) => shipped.operations[op].messages.map((m: { $ref: string }) => m.$ref.split("/").pop());
    expect(names("sessionReceive")).toEqual(["Identify", "Heartbeat"]);
    expect(names("sessionSend")).toEqual(["SessionHello", "Ready", "HeartbeatAck", "Event"]);
    expect(names("feedReceive")).toEqual(["Subscribe"]);
    expect(names("feedSend")).toEqual(["FeedHello", "Event", "Reset"]);
    expect(Object.keys(shipped.channels.feed["x-close-codes"]).map(Number).sort()).toEqual(Object.values(CloseCode).sort());
  });
});

describe("the frame check", () => {
  const at = "2026-12-03T12:00:00.000Z";
  const event = (type: string, data: Record<string, unknown>) =>
    JSON.parse(eventFrame({ seq: 7, type: type as any, domain: "a.example.com", origin: "r", at, data }));

  it("accepts the frames frames.ts builds", () => {
    expect(frameProblem("session", JSON.parse(sessionHelloFrame(30000, 10000)))).toBeNull();
    expect(frameProblem("session", JSON.parse(readyFrame("s1")))).toBeNull();
    expect(frameProblem("session", JSON.parse(heartbeatAckFrame(3)))).toBeNull();
    expect(frameProblem("session", JSON.parse(heartbeatAckFrame(undefined)))).toBeNull();
    expect(frameProblem("feed", JSON.parse(feedHelloFrame(0)))).toBeNull();
    expect(frameProblem("feed", JSON.parse(resetFrame(12)))).toBeNull();
    expect(frameProblem("feed", event("server.status", { status: "offline", last_seen: at }))).toBeNull();
    expect(frameProblem("feed", event("server.removed", {}))).toBeNull();
  });

  it("refuses frames the description does not have", () => {
    expect(frameProblem("feed", JSON.parse(readyFrame("s1")))).toMatch(/does not match/);
    expect(frameProblem("session", JSON.parse(resetFrame(1)))).toMatch(/does not match/);
    expect(frameProblem("feed", event("server.status", { status: "away", last_seen: at }))).toMatch(/does not match/);
    expect(frameProblem("feed", event("server.removed", { extra: 1 }))).toMatch(/does not match/);
    expect(frameProblem("feed", { ...event("server.removed", {}), at: "later" })).toMatch(/does not match/);
  });
});
