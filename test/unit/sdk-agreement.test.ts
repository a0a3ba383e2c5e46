// The SDK keeps its own copies of the registrar's wire constants (it must not import server code, issue 13): this
// test holds the copies equal to the server's, so a change on one side fails here instead of in a user's client.
import { describe, expect, expectTypeOf, it } from "vitest";
import { EVENT_TYPES as SERVER_EVENT_TYPES, type EventType as ServerEventType } from "../../actors/ports.js";
import { WEBHOOK_EVENT_TYPES } from "../../src/webhooks/schemas.js";
import { CloseCode } from "../../src/ws/close-codes.js";
import { WS_PATHS } from "../../src/ws/index.js";
import { PROTOCOLS } from "../../src/ws/ws-messages.js";
import { CloseCodes, EVENT_TYPES, FEED_PATH, SESSION_PATH, SESSION_PROTOCOL, type EventType, type WebhookEventType } from "../../client/index.js";

describe("the SDK's copies of server constants", () => {
  it("has the server's close codes, under the same names (contract §4, §5)", () => {
    expect(CloseCodes).toEqual(CloseCode);
  });

  it("knows the server's event types, in the same order", () => {
    expect(EVENT_TYPES).toEqual(SERVER_EVENT_TYPES);
    // Compile-time half (checked by `tsc --noEmit -p .`): the union types agree too.
    expectTypeOf<EventType>().toEqualTypeOf<ServerEventType>();
    expectTypeOf<WebhookEventType>().toEqualTypeOf<(typeof WEBHOOK_EVENT_TYPES)[number]>();
  });

  it("connects to the server's WebSocket paths and speaks a protocol version it offers", () => {
    expect({ session: SESSION_PATH, feed: FEED_PATH }).toEqual(WS_PATHS);
    expect(PROTOCOLS).toContain(SESSION_PROTOCOL);
  });
});
