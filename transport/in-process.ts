// In-process transport for a single node without NATS: same semantics as the NATS one, delivered asynchronously.
import { NoResponderError, RequestTimeoutError, type Handler, type Responder, type Subscription, type Transport } from "./transport.js";

function matches(pattern: string, subject: string): boolean {
  if (pattern === subject) return true;
  return pattern.endsWith(".>") && subject.startsWith(pattern.slice(0, -1));
}

export class InProcessTransport implements Transport {
  readonly kind = "in-process" as const;
  private readonly handlers = new Set<{ pattern: string; handler: Handler }>();
  private readonly responders = new Map<string, Responder>();
  private closed = false;

  publish(subject: string, data: Uint8Array): void {
    if (this.closed) return;
    // Deliver on a microtask like a network would: never re-enter the publisher synchronously.
    const targets = [...this.handlers].filter((h) => matches(h.pattern, subject));
    if (targets.length > 0) queueMicrotask(() => targets.forEach((h) => h.handler(data, subject)));
  }

  subscribe(pattern: string, handler: Handler): Subscription {
    const entry = { pattern, handler };
    this.handlers.add(entry);
    return { unsubscribe: () => void this.handlers.delete(entry) };
  }

  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const responder = this.responders.get(subject);
    if (!responder || this.closed) throw new NoResponderError(`no responder for ${subject}`);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RequestTimeoutError(`request to ${subject} timed out`)), timeoutMs);
    });
    try {
      return await Promise.race([responder(data, subject), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  serve(subject: string, responder: Responder): Subscription {
    this.responders.set(subject, responder);
    return { unsubscribe: () => void (this.responders.get(subject) === responder && this.responders.delete(subject)) };
  }

  health(): "disabled" {
    return "disabled";
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
    this.responders.clear();
  }
}
