// The AsyncAPI 3.0 description of the two WebSocket protocols (contract §4, §5), generated from the zod schemas of
// the messages both ways (ws-messages.ts, frame-schemas.ts) and the close codes; shipped as docs/asyncapi.json
// (`npm run docs:asyncapi`) and served at GET /v1/asyncapi.json. Payloads are JSON Schema draft-07 (AsyncAPI's own).
import { z } from "zod";
import { CloseCode } from "./close-codes.js";
import { Event, FeedHello, HeartbeatAck, Ready, Reset, SessionHello } from "./frame-schemas.js";
import { HeartbeatMessage, Identify, Subscribe } from "./ws-messages.js";

type Json = Record<string, unknown>;
export const ASYNCAPI_CHANNELS = { session: "/v1/ws/server", feed: "/v1/feed" } as const;

/** What a client does on each close code (docs/websocket.md). */
const CLOSE_ADVICE: Record<keyof typeof CloseCode, string> = {
  normal: "normal close (clients use it to leave)",
  policyViolation: "feed only: more than FEED_MAX_PER_IP open feed connections from this address: retry later, with fewer",
  internalError: "registrar failure: reconnect with backoff",
  restarting: "node shutting down: reconnect soon, to the next URL",
  tryAgainLater: "slow consumer, or no node owns the server right now: reconnect with backoff (feed: resume)",
  invalidMessage: "invalid message (not JSON, binary, unknown op, schema, over 16 KiB): session reconnects with backoff, feed stops",
  authenticationFailed: "authentication failed, token expired, mirrored record or server removed: stop, fix the token",
  unsupportedProtocol: "unsupported protocol version: stop",
  identifyTimeout: "no identify within WS_IDENTIFY_TIMEOUT_S: reconnect with backoff",
  alreadyIdentified: "identify sent twice: reconnect with backoff",
  rateLimited: "over WS_RATE_LIMIT: reconnect with backoff",
  heartbeatTimeout: "no heartbeat within WS_HEARTBEAT_TIMEOUT_S: reconnect with backoff",
  sessionReplaced: "a newer session for the same domain identified: stop",
};

function payload(schema: z.ZodType, io: "input" | "output", shared: Record<string, Json>): Json {
  const out = z.toJSONSchema(schema, {
    target: "draft-7", io, unrepresentable: "any",
    override: (ctx) => {
      if (ctx.jsonSchema.format === "date-time") delete ctx.jsonSchema.pattern;
    },
  }) as Json;
  delete out.$schema;
  const defs = out.definitions as Record<string, Json> | undefined;
  delete out.definitions;
  const moved = JSON.parse(JSON.stringify({ out, defs: defs ?? {} }).replaceAll('"#/definitions/', '"#/components/schemas/'));
  Object.assign(shared, moved.defs);
  return moved.out;
}

type MessageSpec = { name: string; schema: z.ZodType; from: "client" | "registrar"; summary: string };

const SESSION: MessageSpec[] = [
  { name: "SessionHello", schema: SessionHello, from: "registrar", summary: "hello" },
  { name: "Identify", schema: Identify, from: "client", summary: "identify with the server's domain and token" },
  { name: "Ready", schema: Ready, from: "registrar", summary: "ready" },
  { name: "Heartbeat", schema: HeartbeatMessage, from: "client", summary: "heartbeat, with optional stats" },
  { name: "HeartbeatAck", schema: HeartbeatAck, from: "registrar", summary: "heartbeat_ack" },
  { name: "Event", schema: Event, from: "registrar", summary: "an event about the session's own domain" },
];
const FEED: MessageSpec[] = [
  { name: "FeedHello", schema: FeedHello, from: "registrar", summary: "hello" },
  { name: "Subscribe", schema: Subscribe, from: "client", summary: "subscribe (filters, resume position)" },
  { name: "Event", schema: Event, from: "registrar", summary: "an event" },
  { name: "Reset", schema: Reset, from: "registrar", summary: "reset: events were pruned" },
];

export function asyncApiDocument(version: string): Json {
  const shared: Record<string, Json> = {};
  const messages: Record<string, Json> = {};
  const channels: Record<string, Json> = {};
  const operations: Record<string, Json> = {};
  const closeCodes = Object.fromEntries(Object.entries(CloseCode).map(([k, code]) => [String(code), CLOSE_ADVICE[k as keyof typeof CloseCode]]));
  const describe = (name: keyof typeof ASYNCAPI_CHANNELS, specs: MessageSpec[], description: string) => {
    const refs: Record<string, Json> = {};
    for (const m of specs) {
      messages[m.name] ??= { name: m.name, summary: m.summary, contentType: "application/json", payload: payload(m.schema, m.from === "client" ? "input" : "output", shared) };
      refs[m.name] = { $ref: `#/components/messages/${m.name}` };
    }
    channels[name] = {
      address: ASYNCAPI_CHANNELS[name], description, messages: refs, bindings: { ws: { method: "GET" } }, "x-close-codes": closeCodes,
    };
    for (const from of ["registrar", "client"] as const) {
      const own = specs.filter((m) => m.from === from);
      operations[`${name}${from === "registrar" ? "Send" : "Receive"}`] = {
        action: from === "registrar" ? "send" : "receive",
        channel: { $ref: `#/channels/${name}` },
        summary: from === "registrar" ? "Frames the registrar sends" : "Frames the registrar accepts",
        messages: own.map((m) => ({ $ref: `#/channels/${name}/messages/${m.name}` })),
      };
    }
  };
  describe("session", SESSION,
    "A Zent instance's session (contract §4): hello, identify within identify_timeout_ms, ready, then heartbeats; " +
    "events about its own domain arrive as they commit. JSON text frames of at most 16 KiB; every frame counts against WS_RATE_LIMIT.");
  describe("feed", FEED,
    "The public push feed (contract §5): hello with last_seq, one subscribe (types, domains, after_seq), replay from " +
    "after_seq then live events without gap or duplicate, or reset when the replay is no longer possible.");
  return {
    asyncapi: "3.0.0",
    info: { title: "Zent Registrar WebSockets", version, description: "Generated from the registrar's zod message schemas (src/ws/asyncapi.ts). See docs/websocket.md." },
    defaultContentType: "application/json",
    servers: { registrar: { host: "localhost:5000", protocol: "ws", description: "A registrar node (PORT); also under PATH_PREFIX." } },
    channels,
    operations,
    components: { messages, schemas: shared },
  };
}
