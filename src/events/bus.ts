// The node's event bus: committed events go to the local sequencer at once and, in cluster mode, to the other nodes;
// events from the other nodes join the same sequencer. A node never receives its own events back (no round trip).
import type { RegistryEvent } from "../core/events.js";
import { encode, listen, type OnDrop } from "../../transport/codec.js";
import { CLUSTER_WIRE_VERSION, MESSAGES } from "../../transport/subjects.js";
import type { Transport } from "../../transport/transport.js";
import type { Db } from "../store/db.js";
import { lastSeq, readEvents } from "../store/events-repo.js";
import { EventSequencer } from "./sequencer.js";

export type EventBus = {
  sequencer: EventSequencer;
  publish(ev: RegistryEvent): void;
  stop(): void;
};

export type EventBusDeps = {
  db: Db;
  /** Cluster mode: the transport and subject events are shared on, and this node's id (to drop its own). */
  cluster: { transport: Transport; subject: string; nodeId: string; onDrop: OnDrop } | null;
  onGapError: (err: unknown) => void;
  /** Called once per event this node committed (not for events that reach it from other nodes). */
  onPublish?: (ev: RegistryEvent) => void;
};

export async function createEventBus(d: EventBusDeps): Promise<EventBus> {
  const sequencer = new EventSequencer(await lastSeq(d.db), (after, upto, limit) => readEvents(d.db, after, limit, upto), d.onGapError, {
    onUnconfirmed: () => d.cluster?.onDrop(MESSAGES.events.kind, "unconfirmed"),
  });
  const c = d.cluster;
  const counted = d.onPublish ?? (() => {});
  if (!c) {
    return {
      sequencer,
      publish(ev) {
        counted(ev);
        sequencer.offer(ev);
      },
      stop() {},
    };
  }
  // NATS echoes a node's own publications back to it: those are dropped by sender. Another node's event is only a
  // hint: the sequencer reads it (and anything before it) from MySQL, so a forged message delivers nothing.
  const sub = listen(c.transport, c.subject, MESSAGES.events, c.onDrop, (m) => {
    if (m.from !== c.nodeId) sequencer.hint(m.ev.seq);
  });
  return {
    sequencer,
    publish(ev) {
      counted(ev);
      sequencer.offer(ev);
      c.transport.publish(c.subject, encode({ v: CLUSTER_WIRE_VERSION, from: c.nodeId, ev }));
    },
    stop: () => sub.unsubscribe(),
  };
}
