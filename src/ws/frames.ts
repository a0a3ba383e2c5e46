// Frames the registrar sends on its WebSockets (contract §4, §5), serialised once and reused where possible.
import type { RegistryEvent } from "../core/events.js";
import { PROTOCOLS } from "./ws-messages.js";

export function sessionHelloFrame(heartbeatIntervalMs: number, identifyTimeoutMs: number): string {
  return JSON.stringify({ op: "hello", heartbeat_interval_ms: heartbeatIntervalMs, identify_timeout_ms: identifyTimeoutMs, protocols: PROTOCOLS });
}

export function readyFrame(sessionId: string): string {
  return `{"op":"ready","session_id":${JSON.stringify(sessionId)},"status":"online"}`;
}

const ACK_WITHOUT_SEQ = '{"op":"heartbeat_ack"}';

export function heartbeatAckFrame(seq: number | undefined): string {
  return seq === undefined ? ACK_WITHOUT_SEQ : `{"op":"heartbeat_ack","seq":${seq}}`;
}

export function feedHelloFrame(lastSeq: number): string {
  return `{"op":"hello","last_seq":${lastSeq}}`;
}

export function resetFrame(lastSeq: number): string {
  return `{"op":"reset","last_seq":${lastSeq}}`;
}

export function eventFrame(ev: RegistryEvent): string {
  return (
    `{"op":"event","seq":${ev.seq},"type":${JSON.stringify(ev.type)},"domain":${JSON.stringify(ev.domain)},` +
    `"at":${JSON.stringify(ev.at)},"data":${JSON.stringify(ev.data)}}`
  );
}

/**
 * The sequencer hands the same event object to every listener (sessions, feed), one event at a time: remembering
 * the last one serialises each live event once per node, not once per listener.
 */
export class EventFrameCache {
  private last: RegistryEvent | null = null;
  private frame = "";

  get(ev: RegistryEvent): string {
    if (ev !== this.last) {
      this.frame = eventFrame(ev);
      this.last = ev;
    }
    return this.frame;
  }
}
