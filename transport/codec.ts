// The one decoder for every message between nodes and registrars: size check, JSON, schema; what fails is dropped
// with a reason (counted by the caller as registrar_transport_dropped_total{subject,reason}), never acted on.
import type { z } from "zod";
import type { Subscription, Transport } from "./transport.js";

/** `unconfirmed`: a well-formed event announcement whose seq the events table does not hold (forged or rolled back). */
export type DropReason = "too_large" | "not_json" | "invalid" | "unconfirmed";

export class DecodeError extends Error {
  constructor(
    readonly reason: DropReason,
    message: string,
  ) {
    super(message);
  }
}

/** Size check before parsing, then JSON, then the schema; throws DecodeError with a reason for the drop counter. */
export function decode<T>(schema: z.ZodType<T>, data: Uint8Array, maxBytes: number): T {
  if (data.byteLength > maxBytes) throw new DecodeError("too_large", `message of ${data.byteLength} bytes exceeds ${maxBytes}`);
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8"));
  } catch {
    throw new DecodeError("not_json", "message is not JSON");
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DecodeError("invalid", `${issue.path.join(".") || "message"}: ${issue.message}`.slice(0, 200));
  }
  return parsed.data;
}

export function encode(message: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(message), "utf8");
}

/** One kind of message on a subject: its schema (with its version) and the largest message accepted. */
export type MessageSpec<T> = { kind: string; schema: z.ZodType<T>; maxBytes: number };

/** Counts a dropped message; `kind` is the subject's kind (bounded label), never the full subject. */
export type OnDrop = (kind: string, reason: DropReason) => void;

/** Subscribes and hands the handler only messages that decode; the rest are counted and dropped. */
export function listen<T>(transport: Transport, subject: string, spec: MessageSpec<T>, onDrop: OnDrop, handler: (msg: T) => void): Subscription {
  return transport.subscribe(subject, (data) => {
    let msg: T;
    try {
      msg = decode(spec.schema, data, spec.maxBytes);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      onDrop(spec.kind, err.reason);
      return;
    }
    handler(msg);
  });
}
