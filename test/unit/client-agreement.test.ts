// The SDK ships alone, so it restates some of the server's constants; this keeps the two copies equal.
import { describe, expect, expectTypeOf, it } from "vitest";
import { CloseCodes, EVENT_TYPES as CLIENT_EVENT_TYPES, type EventType as ClientEventType, type WebhookEventType } from "../../client/types.js";
import { FEED_PATH } from "../../client/feed.js";
import { SESSION_PATH, SESSION_PROTOCOL } from "../../client/session.js";
import { EVENT_TYPES, type EventType } from "../../src/core/events.js";
import { WEBHOOK_EVENT_TYPES } from "../../src/webhooks/schemas.js";
import { CloseCode } from "../../src/ws/close-codes.js";
import { WS_PATHS } from "../../src/ws/index.js";
import { PROTOCOLS } from "../../src/ws/ws-messages.js";

describe("the client SDK and the server", () => {
  it("agree on the WebSocket close codes", () => {
    expect(CloseCodes).toEqual(CloseCode);
  });

  it("agree on the event types", () => {
    expect(CLIENT_EVENT_TYPES).toEqual(EVENT_TYPES);
    // Compile-time half (checked by `tsc --noEmit -p .`): the unions agree too, webhook event types included.
    expectTypeOf<ClientEventType>().toEqualTypeOf<EventType>();
    expectTypeOf<WebhookEventType>().toEqualTypeOf<(typeof WEBHOOK_EVENT_TYPES)[number]>();
  });

  it("agree on the WebSocket paths, and the SDK speaks a session protocol the server offers", () => {
    expect({ session: SESSION_PATH, feed: FEED_PATH }).toEqual(WS_PATHS);
    expect(PROTOCOLS).toContain(SESSION_PROTOCOL);
  });
});
