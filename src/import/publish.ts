// With NATS_URL set, the import hands each committed batch's events to the running cluster on its events subject,
// as a node does, so the nodes show the imported servers at once; without NATS (or when it is unreachable) the
// nodes read them from the events table (src/events/stored-writes.ts, the cluster's catch-up) within seconds.
import type { RegistryEvent } from "../core/events.js";
import { encode } from "../../transport/codec.js";
import { connectTransport, type NodeTransport } from "../../transport/connect.js";
import { CLUSTER_WIRE_VERSION, subjects } from "../../transport/subjects.js";
import type { Config } from "../config.js";

export type EventPublisher = { publish(events: RegistryEvent[]): void; close(): Promise<void> };

/** Null when there is no cluster to tell, or NATS cannot be reached (the nodes catch up from MySQL instead). */
export async function openEventPublisher(config: Config, warn: (line: string) => void): Promise<EventPublisher | null> {
  if (!config.natsUrl) return null;
  const from = `import-php-${process.pid}`;
  let net: NodeTransport;
  try {
    net = await connectTransport(config.nats, from, () => {});
  } catch (err) {
    warn(`NATS unreachable (${(err as Error).message}): the nodes will read the imported servers from MySQL within seconds`);
    return null;
  }
  const subject = subjects(config.clusterId).events;
  return {
    publish(events) {
      for (const ev of events) net.transport.publish(subject, encode({ v: CLUSTER_WIRE_VERSION, from, ev }));
    },
    close: () => net.stop(),
  };
}
