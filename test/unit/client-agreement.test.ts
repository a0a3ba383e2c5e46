// The SDK ships alone, so it restates some of the server's constants; this keeps the two copies equal.
import { describe, expect, it } from "vitest";
import { CloseCodes, EVENT_TYPES as CLIENT_EVENT_TYPES } from "../../client/types.js";
import { EVENT_TYPES } from "../../src/core/events.js";
import { CloseCode } from "../../src/ws/close-codes.js";

describe("the client SDK and the server", () => {
  it("agree on the WebSocket close codes", () => {
    expect(CloseCodes).toEqual(CloseCode);
  });

  it("agree on the event types", () => {
    expect(CLIENT_EVENT_TYPES).toEqual(EVENT_TYPES);
  });
});
