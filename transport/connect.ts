// Opens the node's transport: NATS (with KV leases) when a URL is given, else the in-process one of a single node.
import { InProcessTransport } from "./in-process.js";
import type { LeaseProvider } from "./leases.js";
import type { NatsLink } from "./nats/nats-link.js";
import { NatsTransport } from "./nats/nats-transport.js";
import type { Transport } from "./transport.js";

export type NodeTransport = {
  transport: Transport;
  /** Shard leases: present with NATS only. */
  leases: LeaseProvider | null;
  stop(): Promise<void>;
};

/** NATS must answer at start-up (fail fast, let the supervisor retry); later outages are survived. */
export async function connectTransport(nats: NatsLink | null, name: string, onError: (err: unknown) => void): Promise<NodeTransport> {
  if (!nats) {
    const transport = new InProcessTransport();
    return { transport, leases: null, stop: () => transport.close() };
  }
  const t = await NatsTransport.connect({ servers: nats.url, credsFile: nats.credsFile, tls: nats.tls, name, onError });
  return { transport: t, leases: t, stop: () => t.close() };
}
