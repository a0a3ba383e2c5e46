// The one interface through which nodes and actors talk: publish/subscribe and request/reply on subjects.
export type Handler = (data: Uint8Array, subject: string) => void;
export type Responder = (data: Uint8Array, subject: string) => Promise<Uint8Array>;

export interface Subscription {
  unsubscribe(): void;
}

export interface Transport {
  readonly kind: "in-process" | "nats";
  publish(subject: string, data: Uint8Array): void;
  /** Subject may end in `.>` to match every subject below it. */
  subscribe(subject: string, handler: Handler): Subscription;
  /** One responder per subject answers; rejects after timeoutMs or when no one serves the subject. */
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  serve(subject: string, responder: Responder): Subscription;
  /** "ok" while connected; "down" while reconnecting; "disabled" for the in-process transport. */
  health(): "ok" | "down" | "disabled";
  close(): Promise<void>;
}

export class NoResponderError extends Error {}
export class RequestTimeoutError extends Error {}
