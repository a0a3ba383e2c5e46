// Every subject name is built here and only here. Tokens are [a-z0-9_-]; user text never appears raw.
export function subjects(clusterId: string) {
  const root = `zent.${clusterId}`;
  return {
    /** Committed registry events, in any order; receivers order them by seq. */
    events: `${root}.events`,
    /** Membership gossip. */
    gossip: `${root}.gossip`,
    /** Mailbox of one shard's actors. */
    shard: (shard: number) => `${root}.shard.${shard}`,
    /** Heartbeat soft state from shard owners. */
    liveness: `${root}.liveness`,
    /** Rate-limit counts shared across nodes. */
    rateLimits: `${root}.ratelimit`,
  };
}

/** Encodes arbitrary text (domains contain dots) into a subject-safe token. */
export function encodeToken(text: string): string {
  return Buffer.from(text, "utf8").toString("hex");
}
