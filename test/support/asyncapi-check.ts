// Checks the frames a registrar sends against docs/asyncapi.json (ajv, draft-07 with formats): the WebSocket test
// client (ws-test-client.ts) runs it on every text frame it receives.
import { readFileSync } from "node:fs";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import { ROOT } from "./paths.js";

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => void;
export type Channel = "session" | "feed";

function load(): Record<Channel, ValidateFunction> {
  const doc = JSON.parse(readFileSync(`${ROOT}/docs/asyncapi.json`, "utf8"));
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(doc, "asyncapi.json");
  const sent = (channel: Channel) => {
    // "#/channels/feed/messages/Event" → "#/components/messages/Event": the channel's messages are references.
    const refs: string[] = doc.operations[`${channel}Send`].messages.map((m: { $ref: string }) => doc.channels[channel].messages[m.$ref.split("/").pop()!].$ref);
    return ajv.compile({ anyOf: refs.map((r) => ({ $ref: `asyncapi.json${r}/payload` })) });
  };
  return { session: sent("session"), feed: sent("feed") };
}

// Compiled on import, not on the first frame: a test with short timeouts must not wait for ajv mid-protocol.
const validators = load();

/** The channel a WebSocket path opens (PATH_PREFIX or not), or null for another path. */
export function channelOf(path: string): Channel | null {
  const p = path.split("?")[0];
  if (p.endsWith("/v1/ws/server")) return "session";
  if (p.endsWith("/v1/feed")) return "feed";
  return null;
}

/** Null when the frame is one the description allows on this channel, else what is wrong. */
export function frameProblem(channel: Channel, frame: unknown): string | null {
  const validate = validators[channel];
  if (validate(frame)) return null;
  const errors = (validate.errors ?? []).slice(0, 4).map((e) => `${e.instancePath || "/"} ${e.message}`);
  return `${channel} frame does not match docs/asyncapi.json (${errors.join("; ")}): ${JSON.stringify(frame).slice(0, 300)}`;
}
